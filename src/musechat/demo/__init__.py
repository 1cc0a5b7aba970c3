"""`musechat demo`: the embedded single-machine system on a small generated world."""
