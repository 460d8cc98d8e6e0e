package render

import (
	"encoding/base64"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/atlasbench/atlasbench/internal/atomicfile"
)

// CSS is the style every HTML page shares (each page adds its own rules after it).
const CSS template.CSS = `body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; max-width: 980px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.7em; margin-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #d8dee4; padding-bottom: .2em; }
.sub, .env, .foot { color: #59636e; }
.foot { font-size: .9em; font-style: italic; }
.note { background: #fff8c5; border: 2px solid #d4a72c; border-radius: 6px; padding: .6em .9em; margin: .8em 0; font-weight: 600; }
table { border-collapse: collapse; margin: .6em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: .3em .65em; vertical-align: top; }
th { background: #f6f8fa; text-align: left; }
tr:nth-child(even) td { background: #fafbfc; }
td.r { text-align: right; white-space: nowrap; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { color: #59636e; font-size: .9em; }
`

// HTMLHead opens every page, up to its <title>.
const HTMLHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
`

// Funcs are the template functions every page has, "css" (CSS) and "dataURI" (DataURI),
// with a page's own added.
func Funcs(own template.FuncMap) template.FuncMap {
	fm := template.FuncMap{"css": func() template.CSS { return CSS }, "dataURI": DataURI}
	for k, f := range own {
		fm[k] = f
	}
	return fm
}

// DataURI embeds a PNG in a page (self-contained: no file next to it needed).
func DataURI(png []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}

// mdReplacer escapes the characters that would change a line's meaning in Markdown.
var mdReplacer = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", `\<`, ">", `\>`, "|", `\|`, "\n", " ", "\r", " ",
)

// MarkdownText escapes plain text for Markdown (a line or a table cell).
func MarkdownText(s string) string { return mdReplacer.Replace(s) }

// File is one output file: Write renders it, or, for a PNG, Data is its content. A file
// with neither is not drawn this time: an old one of that name is removed.
type File struct {
	Name  string
	Data  []byte
	Write func(io.Writer) error
}

// WriteFiles writes each file into dir atomically (atomicfile) and removes the ones left
// empty, so that a re-render never leaves a stale chart behind.
func WriteFiles(dir string, files []File) error {
	for _, f := range files {
		path := filepath.Join(dir, f.Name)
		write := f.Write
		if write == nil && f.Data != nil {
			data := f.Data
			write = func(w io.Writer) error { _, err := w.Write(data); return err }
		}
		if write == nil {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		if err := atomicfile.Write(path, write); err != nil {
			return err
		}
	}
	return nil
}
