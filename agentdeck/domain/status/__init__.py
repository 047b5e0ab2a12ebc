"""The platform status page: overview, incidents and feeds (`page`), dependency probes and the
monitor that runs them (`probes`, `health`), alert subscriptions (`subscriptions`) and the
contact form (`contact`)."""
