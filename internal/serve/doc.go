// Package serve is `tcpprobe serve`: a Prometheus multi-target exporter in
// the shape of blackbox_exporter. GET /probe?target=HOST:PORT&module=NAME
// runs one probe on a Prober shared by every scrape and answers with the
// probe's metrics in a registry of their own; /metrics carries the
// exporter's own counters. Targets outside the configured networks are
// refused before anything is sent, probes in flight are bounded with a
// queue in front, and one target and module is probed at most once per
// minimum interval: scrapes in a burst share the probe in flight or the
// last result.
package serve
