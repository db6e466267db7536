"""`make bench`: ParkLink's benchmarks, printed as one table."""
