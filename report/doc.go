// Package report turns probe results into what people and programs read:
// a text line per probe (and a timeline with verbose output), one JSON
// document, or one JSON object per line, all following the documented
// schema; and it decides whether a result met its expectation.
package report
