"""ParkLink: the supply-chain event network of an alliance of industrial parks."""
