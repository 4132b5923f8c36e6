"""The shared kernel: the records that move between stages (`kernel.records`), the config
schema and its loader (`kernel.config`), the errors every stage derives from
(`kernel.errors`), and the numpy-only maths stages share: score and brightness drift
(`kernel.drift`) and rates with Wilson intervals (`kernel.intervals`).

It imports no stage and nothing heavier than numpy, pydantic and PyYAML, so every stage can
depend on it and a newcomer can read it first.
"""
