"""`parklink up` / `parklink down`: the whole network on one machine, as child processes."""
