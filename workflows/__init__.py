"""The support domain: intake, triage, delivery bookkeeping.

Workflows know nothing of Bolt or slack_sdk. They take a SQLAlchemy session and typed inputs, record
state changes and what must be said in Slack (outbox rows), and return small result dataclasses. The
caller owns the transaction.
"""
