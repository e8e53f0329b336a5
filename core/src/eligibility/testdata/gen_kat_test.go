// KAT generator for smesh's fixed-point BinCDF port (core/src/eligibility/fixed.rs).
//
// Not part of the Rust build. To regenerate the tables, copy this file into a checkout of
// github.com/spacemeshos/fixed v0.1.2 (the version go-spacemesh pins) and run
//
//	go test -run TestGenSmeshKAT -kat-dir /path/to/core/src/eligibility/testdata
//
// It writes bincdf.kat (every case of the library's own bincdf_ts*_test.go tables, evaluated
// by the Go implementation, bit for bit), divu64.kat and hare.kat (hare3 eligibility counts
// computed the way go-spacemesh's hare3/eligibility/oracle.go does).
package fixed

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

var katDir = flag.String("kat-dir", "", "where to write the KAT files")

func rawHex(f Fixed) string { return fmt.Sprintf("%016x%016x", f.hi, f.lo) }

func TestGenSmeshKAT(t *testing.T) {
	if *katDir == "" {
		t.Skip("no -kat-dir")
	}
	write := func(name string, lines []string) {
		f, err := os.Create(filepath.Join(*katDir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, l := range lines {
			fmt.Fprintln(f, l)
		}
	}

	// BinCDF over the library's accuracy tables: n x p cdf (p and cdf as raw hi||lo hex).
	var cdf []string
	cdf = append(cdf, "# n x p_raw cdf_raw  (Fixed as hi||lo, 32 hex digits; go: BinCDF64(n, From(p), x))")
	tables := [][]BinCDFCase{
		bincdfTestCases_100, bincdfTestCases_1000, bincdfTestCases_10000,
		bincdfTestCases_1000000, bincdfTestCases_10000000,
	}
	for _, table := range tables {
		for _, tc := range table {
			p := From(tc.p)
			got := BinCDF64(tc.n, p, tc.x)
			cdf = append(cdf, fmt.Sprintf("%d %d %s %s", tc.n, tc.x, rawHex(p), rawHex(got)))
		}
	}
	write("bincdf.kat", cdf)

	// DivUint64 on committee/total pairs, both branches of udiv.
	rng := rand.New(rand.NewSource(7))
	var div []string
	div = append(div, "# p q DivUint64(p,q) raw")
	pairs := [][2]uint64{{1, 1}, {1, 3}, {2, 3}, {50, 1000}, {400, 1 << 40}, {800, 3},
		{1 << 15, 1 << 20}, {123456789, 987654321}, {1 << 30, 7}, {5, 1 << 62}}
	for i := 0; i < 200; i++ {
		p := uint64(rng.Int63n(1<<uint(1+rng.Intn(40)))) + 1
		q := uint64(rng.Int63n(1<<uint(1+rng.Intn(62)))) + 1
		if p > q {
			p, q = q, p
		}
		pairs = append(pairs, [2]uint64{p, q})
	}
	for _, pq := range pairs {
		div = append(div, fmt.Sprintf("%d %d %s", pq[0], pq[1], rawHex(DivUint64(pq[0], pq[1]))))
	}
	write("divu64.kat", div)

	// Hare eligibility counts: weight committee total vrf_prefix_le_u64 count.
	var hare []string
	hare = append(hare, "# weight committee total vrf_le_u64 count  (hare3 oracle CalcEligibility)")
	type setup struct{ w, c, total uint64 }
	setups := []setup{{1, 50, 1000}, {10, 50, 1000}, {100, 50, 1000}, {1000, 50, 1000},
		{3, 800, 100}, {1, 800, 5}, {7, 5, 1 << 20}, {1 << 20, 400, 1 << 24},
		{50000, 200, 1 << 30}, {12345, 50, 123456}, {2, 5, 3}, {999, 400, 1000}}
	for i := 0; i < 40; i++ {
		total := uint64(rng.Int63n(1<<uint(4+rng.Intn(36)))) + 1
		w := uint64(rng.Int63n(int64(total))) + 1
		if w > 1<<20 {
			w = w >> 12
		}
		c := []uint64{5, 50, 200, 400, 800}[rng.Intn(5)]
		setups = append(setups, setup{w, c, total})
	}
	for _, s := range setups {
		for j := 0; j < 12; j++ {
			var buf [8]byte
			v := rng.Uint64()
			if j == 0 {
				v = 0
			} else if j == 1 {
				v = ^uint64(0)
			}
			binary.LittleEndian.PutUint64(buf[:], v)
			n, total := s.w, s.total
			if s.c > total {
				total *= s.c
				n *= s.c
			}
			if n > (1<<31-1)/2+1 {
				continue
			}
			p := DivUint64(s.c, total)
			frac := FracFromBytes(buf[:])
			count := int(n)
			for x := 0; x < int(n); x++ {
				if BinCDF(int(n), p, x).GreaterThan(frac) {
					count = x
					break
				}
			}
			hare = append(hare, fmt.Sprintf("%d %d %d %d %d", s.w, s.c, s.total, v, count))
		}
	}
	write("hare.kat", hare)
}
