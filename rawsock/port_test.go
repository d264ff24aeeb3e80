package rawsock

import "testing"

func TestLocalPortListed(t *testing.T) {
	// Two lines of /proc/net/tcp as this kernel writes them: a listener on
	// 127.0.0.1:80 and a connection from 198.18.1.2:40000.
	const table = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 020112C6:9C40 020212C6:0050 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
bad line
`
	for _, tc := range []struct {
		port uint16
		want bool
	}{
		{80, true},      // listening
		{40000, true},   // 0x9C40, established
		{8080, false},   // nowhere
		{0x0A, false},   // the state column is not a port
		{0x0100, false}, // nor the header
	} {
		if got := localPortListed(table, tc.port); got != tc.want {
			t.Errorf("localPortListed(port %d) = %v, want %v", tc.port, got, tc.want)
		}
	}
}
