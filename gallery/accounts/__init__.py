"""Accounts: users and roles, sign-in, throttling of failed sign-ins."""
