"""The operator console: keeps the alerts of the compacted alerts topic in a database, serves
the alerts API, the live web page and Server-Sent Events, and delivers signed webhooks."""
