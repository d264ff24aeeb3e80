package lab

import (
	"fmt"
	"os"
	"testing"
	"time"
)

func TestChainHold(t *testing.T) {
	if os.Getenv("HOLD") == "" {
		t.Skip("HOLD")
	}
	c, err := BuildChain()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Println(c.Prefix)
	os.WriteFile("/tmp/chainprefix", []byte(c.Prefix), 0o644)
	for i := 0; i < 600; i++ {
		if _, err := os.Stat("/tmp/chainstop"); err == nil {
			return
		}
		time.Sleep(time.Second)
	}
}
