"""Static files from the local disk, where a name no file could have is a 404, not a server error."""

from __future__ import annotations

import errno
from typing import Any

from litestar.file_system import BaseLocalFileSystem
from litestar.types import PathType
from litestar.types.file_types import FileInfo

# Asked of a request path: too long a name, a file used as a directory, a symlink loop.
NO_SUCH_NAME = frozenset({errno.ENAMETOOLONG, errno.ENOTDIR, errno.ELOOP, errno.EINVAL})


class StaticFileSystem(BaseLocalFileSystem):
    """The local file system; Litestar answers any OSError but "not found" with a 500."""

    async def info(self, path: PathType, **kwargs: Any) -> FileInfo:
        try:
            return await super().info(path, **kwargs)
        except ValueError as exc:  # a NUL byte in the name
            raise FileNotFoundError(str(path)) from exc
        except OSError as exc:
            if exc.errno in NO_SUCH_NAME:
                raise FileNotFoundError(str(path)) from exc
            raise
