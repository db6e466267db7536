"""The simulated alliance: parks, corridors, orders, shipments and capacity, with scenarios that
inject disruptions. `world` and `scenarios` are pure logic; `runner` and `sinks` publish."""
