package dag

import "math/bits"

// bitset is a fixed-size set of node indexes.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int)      { b[i/64] |= 1 << (uint(i) % 64) }
func (b bitset) clear(i int)    { b[i/64] &^= 1 << (uint(i) % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(uint(i)%64)) != 0 }

func (b bitset) or(o bitset) {
	for i := range b {
		b[i] |= o[i]
	}
}

func (b bitset) clone() bitset { return append(bitset(nil), b...) }

// andCountIn returns |b ∩ o| counting only words lo..hi-1.
func (b bitset) andCountIn(o bitset, lo, hi int) int {
	n := 0
	for i := lo; i < hi; i++ {
		n += bits.OnesCount64(b[i] & o[i])
	}
	return n
}

// count returns |b|.
func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// each calls f for every member in ascending order.
func (b bitset) each(f func(int)) { b.eachIn(0, len(b), f) }

// eachIn calls f for every member in words lo..hi-1, in ascending order.
func (b bitset) eachIn(lo, hi int, f func(int)) {
	for wi := lo; wi < hi; wi++ {
		w := b[wi]
		for w != 0 {
			t := bits.TrailingZeros64(w)
			f(wi*64 + t)
			w &= w - 1
		}
	}
}
