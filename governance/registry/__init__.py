"""The registry of rights and models: who consented to what, which assets exist under
which licence, which assets a training set holds, which model was trained on it.

Domain functions here are what the CLI and the API both call. Each public function that
writes runs in one transaction and returns plain dicts, never peewee rows.
"""
