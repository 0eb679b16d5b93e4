"""Who may do what: principals, roles, opt-out and retention policy."""
