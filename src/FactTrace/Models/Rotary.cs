using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>
/// Rotary position embeddings in the rotate-half convention (GPT-NeoX and Llama): the first half of the rotary dims
/// pairs with the second half. Tables are computed per forward pass and never stored in the state dict.
/// </summary>
public static class Rotary
{
    /// <summary>
    /// Inverse frequencies [rotaryDims/2]: 1 / base^(2i/rotaryDims), then, for rope_scaling llama3, HF's
    /// _compute_llama3_parameters rule (long wavelengths divided by factor, a smooth blend in between).
    /// </summary>
    public static double[] InverseFrequencies(ModelConfig config)
    {
        var dims = config.RotaryDims;
        var invFreq = new double[dims / 2];
        for (var i = 0; i < invFreq.Length; i++) invFreq[i] = 1.0 / Math.Pow(config.RopeBase, 2.0 * i / dims);
        if (config.IsLlama && config.RopeScaling is { Kind: "llama3" } s) ApplyLlama3(invFreq, s);
        return invFreq;
    }

    static void ApplyLlama3(double[] invFreq, RopeScaling s)
    {
        double oldContext = s.OriginalMaxPositionEmbeddings;
        var lowFreqWavelen = oldContext / s.LowFreqFactor;
        var highFreqWavelen = oldContext / s.HighFreqFactor;
        for (var i = 0; i < invFreq.Length; i++)
        {
            var wavelen = 2 * Math.PI / invFreq[i];
            if (wavelen < highFreqWavelen) continue;                     // high frequency: unchanged
            if (wavelen > lowFreqWavelen) { invFreq[i] /= s.Factor; continue; } // low frequency: scaled
            var smooth = (oldContext / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
            invFreq[i] = (1 - smooth) * invFreq[i] / s.Factor + smooth * invFreq[i];
        }
    }

    /// <summary>cos and sin tables [T, rotaryDims] for positions 0..T-1, fp32 angles, in <paramref name="dtype"/>.</summary>
    public static (Tensor Cos, Tensor Sin) Tables(double[] invFreq, long t, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        var inv = tensor(invFreq.Select(x => (float)x).ToArray(), device: device);  // [R/2]
        var positions = arange(t, ScalarType.Float32, device);                      // [T]
        var freqs = outer(positions, inv);                                          // [T, R/2]
        var emb = cat([freqs, freqs], -1);                                          // [T, R]
        return (emb.cos().to(dtype).MoveToOuterDisposeScope(), emb.sin().to(dtype).MoveToOuterDisposeScope());
    }

    /// <summary>x [B,H,T,hd]: rotates the first cos.shape[-1] dims of each head, passes the rest through.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var r = cos.shape[^1];
        var hd = x.shape[^1];
        var rot = r == hd ? x : x[.., .., .., ..(int)r];
        var rotated = rot * cos + RotateHalf(rot) * sin;
        var y = r == hd ? rotated : cat([rotated, x[.., .., .., (int)r..]], -1);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>[x1, x2] -> [-x2, x1] over the last dim.</summary>
    static Tensor RotateHalf(Tensor x)
    {
        var half = x.shape[^1] / 2;
        var x1 = x[.., .., .., ..(int)half];
        var x2 = x[.., .., .., (int)half..];
        return cat([-x2, x1], -1);
    }
}
