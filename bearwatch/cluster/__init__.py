"""The scale-out path (`cluster.engine: ray`, README "Beyond one machine"): the detector's
models served by a Ray Serve deployment (`serve_app`), reached through the same `Model` seam
the single-machine path uses (`remote_model.ServeModel`), so the loop, the encounter tracker
and the alert sink are unchanged. The tracker stays single-owner in the `bearwatch up`
process (one camera's frames in order, k-of-n and cooldown as on one box); replicas only
score. Needs the `cluster` extra (Ray); nothing here is imported on the single-machine path.
"""
