package redisproc

import "strings"

// ParseInfo reads the text of an INFO reply into its fields by name ("used_memory" →
// "1234"); section headers ("# Memory") and blank lines are left out. It is the one
// parser of INFO replies in the module.
func ParseInfo(text string) map[string]string {
	fields := map[string]string{}
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = v
		}
	}
	return fields
}

// InfoField returns the value of field in an INFO reply ("" when absent).
func InfoField(info, field string) string { return ParseInfo(info)[field] }
