"""Organizations: tenants with owner/admin/member roles, emailed invitations and a per-session active one."""
