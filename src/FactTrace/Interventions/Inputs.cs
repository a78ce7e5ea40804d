using System.Globalization;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Tracing;

namespace FactTrace.Interventions;

/// <summary>Where the interventions find the reference weights and the masks of a trace.</summary>
public static class Inputs
{
    /// <summary>The reference weights' folder: the given one, else init/ beside the model folder (a from-scratch run).</summary>
    public static string ReferenceFolder(string? reference, string modelDir)
    {
        if (reference is not null) return Path.GetFullPath(ModelFolder.Open(reference, "reference").Path);
        var parent = Path.GetDirectoryName(Path.GetFullPath(modelDir).TrimEnd(Path.DirectorySeparatorChar))!;
        var init = Path.Combine(parent, "init");
        if (ModelFolder.IsModelFolder(init)) return init;
        throw new OptionException("reference",
            $"not given and no init/ beside '{modelDir}': give the common starting weights (init/ of a from-scratch run, the pretrained folder of a fine-tune)");
    }

    /// <summary>A mask file, or in a trace folder the file of <paramref name="set"/> at <paramref name="rho"/>.</summary>
    public static string MaskFile(string mask, double rho, string field = "mask", string set = "shared")
    {
        if (Directory.Exists(mask))
        {
            var f = Path.Combine(mask, TraceFiles.Mask(set, rho));
            if (!File.Exists(f)) throw new OptionException(field, $"trace folder '{mask}' has no {TraceFiles.Mask(set, rho)} (traced at other rho?)");
            return Path.GetFullPath(f);
        }
        if (!File.Exists(mask)) throw new OptionException(field, $"'{mask}' not found");
        return Path.GetFullPath(mask);
    }

    /// <summary>The rho recorded in a mask file's metadata, if any.</summary>
    public static double? RhoOf(IReadOnlyDictionary<string, string> meta) =>
        meta.TryGetValue("rho", out var rs) && double.TryParse(rs, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : null;
}
