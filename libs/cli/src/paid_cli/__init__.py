"""`paid`: the command line of Paid, a client of the API and NATS like any other."""
