"""`make bench`: every benchmark, each printing its own table with ratios against a baseline from the same run."""

from bench import authorization, cold_start, crl, inventory, issuance, poll, sweep

issuance.main()
sweep.main()
crl.main()
cold_start.main()
authorization.main()
poll.main()
inventory.main()
