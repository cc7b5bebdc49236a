"""What a run writes and scoring reads: records, probe results, the clock, the timeline.

The bottom of the data flow with `brownout.spec`: these modules import nothing
else of brownout, so the load generator, probes, faults and the runner write
them and scoring reads them without depending on one another.
"""
