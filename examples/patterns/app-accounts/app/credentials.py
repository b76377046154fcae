"""How the application holds the ThingSpace API credentials: read from Secrets Manager, cached, and re-read without a
restart. A sketch to adapt; it needs boto3.

The rules that keep the API user safe from ThingSpace's lock-out (5 failed log-ins):
- re-read the secret at least once per rotation_period (the cache's max_age), so the application moves to the new
  pair while its old one is still valid as the standby;
- when ThingSpace refuses a log-in, re-read the secret once and retry only if it now holds *different* credentials;
  never send the same refused password again.
"""

import json
import time

import boto3


class ThingSpaceCredentials:
    def __init__(self, secret_id, max_age_seconds=3600, client=None):
        self.secret_id = secret_id
        self.max_age = max_age_seconds
        self.client = client or boto3.client("secretsmanager")
        self._creds = None
        self._read_at = 0.0

    def _read(self):
        value = self.client.get_secret_value(SecretId=self.secret_id)["SecretString"]
        secret = json.loads(value)
        self._creds = (secret["username"], secret["password"])
        self._read_at = time.monotonic()
        return self._creds

    def current(self):
        """The cached pair, re-read once it is older than max_age."""
        if self._creds is None or time.monotonic() - self._read_at > self.max_age:
            return self._read()
        return self._creds

    def after_refused_login(self, refused):
        """The pair to retry with after ThingSpace refused `refused`, or None when the secret still holds it (then
        do not log in again: alert someone)."""
        fresh = self._read()
        return None if fresh == refused else fresh
