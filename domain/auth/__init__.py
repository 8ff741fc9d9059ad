"""Authentication: users, passwords, sessions, verification, OAuth accounts."""
