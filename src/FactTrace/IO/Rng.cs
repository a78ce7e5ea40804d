using System.Text;

namespace FactTrace.IO;

/// <summary>
/// A small seeded generator (xoshiro256** seeded through SplitMix64), so that a seed means the same stream on every
/// .NET version: System.Random's algorithm is an implementation detail that has changed before. Not thread-safe.
/// Independent streams come from <see cref="Rng(long, string, long)"/>: one per purpose (and per item), so that
/// drawing more for one purpose never shifts another (e.g. BIO templates never change who the people are).
/// </summary>
public sealed class Rng
{
    ulong _s0, _s1, _s2, _s3;

    public Rng(ulong seed)
    {
        var x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>The stream named <paramref name="stream"/> (and numbered <paramref name="index"/>) of a seed.</summary>
    public Rng(long seed, string stream, long index = 0) : this(Mix((ulong)seed, Fnv1a(stream), (ulong)index)) { }

    public ulong NextULong()
    {
        // xoshiro256** 1.0 (Blackman & Vigna).
        var result = BitRotate(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitRotate(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, n), unbiased (Lemire's multiply-and-reject).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "must be positive");
        return (int)NextULong((ulong)n);
    }

    /// <summary>Uniform in [lo, hi] inclusive.</summary>
    public int NextInt(int lo, int hi) => lo + NextInt(hi - lo + 1);

    /// <summary>Uniform in [0, n) for any positive 64-bit n.</summary>
    public ulong NextULong(ulong n)
    {
        if (n == 0) throw new ArgumentOutOfRangeException(nameof(n), "must be positive");
        var hi = Math.BigMul(NextULong(), n, out var lo);
        if (lo < n)
        {
            var threshold = (0 - n) % n;
            while (lo < threshold) hi = Math.BigMul(NextULong(), n, out lo);
        }
        return hi;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    public T Pick<T>(IReadOnlyList<T> items) => items[NextInt(items.Count)];

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    public void Shuffle<T>(Span<T> items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A random permutation of 0..n-1.</summary>
    public int[] Permutation(int n)
    {
        var p = new int[n];
        for (var i = 0; i < n; i++) p[i] = i;
        Shuffle(p.AsSpan());
        return p;
    }

    static ulong BitRotate(ulong x, int k) => (x << k) | (x >> (64 - k));

    static ulong SplitMix64(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    static ulong Mix(ulong seed, ulong stream, ulong index)
    {
        var x = seed;
        var a = SplitMix64(ref x) ^ stream;
        var b = SplitMix64(ref a) ^ index;
        return SplitMix64(ref b);
    }

    static ulong Fnv1a(string s)
    {
        var h = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(s)) h = (h ^ b) * 1099511628211UL;
        return h;
    }
}
