package witness

import "testing"

func TestParseInfoMemory(t *testing.T) {
	text := "# Memory\r\nused_memory:1048576\r\nmaxmemory:536870912\r\nmaxmemory_policy:allkeys-lru\r\n" +
		"# Stats\r\nevicted_keys:42\r\nkeyspace_hits:3\r\nkeyspace_misses:4\r\n"
	c, err := ParseInfo(text)
	if err != nil {
		t.Fatal(err)
	}
	if c.UsedMemory != 1<<20 || c.MaxMemory != 512<<20 || c.Evicted != 42 || c.Policy != "allkeys-lru" {
		t.Errorf("ParseInfo = %+v", c)
	}
	if _, err := ParseInfo("used_memory:lots\r\nkeyspace_hits:1\r\nkeyspace_misses:1\r\n"); err == nil {
		t.Error("a malformed used_memory was accepted")
	}
}
