package rawsock

// TxStampStats counts the send times a Link's stamped writes
// (WriteIPStamped, WriteIPBatchStamped) returned: Kernel from the driver's
// transmit timestamp, AfterSend from the clock read right after the send
// call returned (no kernel stamp came in time, or the driver gives none).
type TxStampStats struct {
	Kernel, AfterSend uint64
}
