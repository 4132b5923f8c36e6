"""Edge sites (issue 15, README "Beyond one machine"): `bearwatch edge --site S` runs a site's
cameras and relays their gated frames to the centre, which scores them and stores the alerts
as it does for its own cameras.

- `wire`: what crosses the network (typed, validated JSON records);
- `backlog`: the edge's bounded, durable on-disk queue of frames the centre has not scored;
- `site`: the edge process (`EdgeSite`): ingest → backlog → authenticated HTTP(S) to the centre;
- `receiver`: the centre's side (`FrameReceiver`): checks the site's token, decodes, queues the
  frames for the detector and answers once they are scored and committed.
"""
