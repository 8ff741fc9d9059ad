"""Operator use cases: admin accounts, the piccolo-admin identity bridge, actor inspection."""
