// Package render is the house style of every page and chart atlasbench writes (bench run's
// report, bench compare's comparison): the chart canvas and its size, the typeface, the
// colour palette, round axis ticks, the shared CSS, Markdown escaping, and writing the
// output files atomically. It knows nothing of a run: report and compare decide what to
// draw, render decides how it looks.
package render
