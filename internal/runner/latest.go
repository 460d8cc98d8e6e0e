package runner

import (
	"os"
	"path/filepath"
)

// LatestClaimsLink names the link in the reports root to the newest bench claims scorecard.
const LatestClaimsLink = "latest-claims"

// LinkLatest points the link out/name at dir (relative: dir's base name, dir being inside
// out), replacing an older link atomically; a link that cannot be made is left as it was.
func LinkLatest(out, dir, name string) {
	link := filepath.Join(out, name)
	tmp := link + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(filepath.Base(dir), tmp); err == nil {
		os.Rename(tmp, link)
	}
}
