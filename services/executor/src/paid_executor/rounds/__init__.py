"""Follow-up rounds on a pull request Paid opened: one durable conversation per pull request
(`conversation.py`), the rounds' activities (`activities.py`), their prompt (`prompt.py`) and what
turns a GitHub change into a round (`triggers.py`)."""
