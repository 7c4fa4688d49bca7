"""The staff console shell, the visitor pages and the security screen: templates and static."""
