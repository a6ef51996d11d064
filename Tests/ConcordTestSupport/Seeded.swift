// The one seeded generator of the tests (SplitMix64): property tests, random walks and workloads repeat exactly from
// the seed they print. It is the workload's own, so a test and a benchmark with one seed see the same sequence.
@_exported import struct ConcordWorkload.SeededRandom
