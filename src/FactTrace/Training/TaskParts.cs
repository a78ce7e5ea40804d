namespace FactTrace.Training;

/// <summary>
/// A batch's examples by task, BIO first, each part in batch order: a training step runs one forward and backward per
/// part (<see cref="TrainStep"/>), so that a mixed batch's gradient splits exactly into its BIO and QA gradients.
/// </summary>
public static class TaskParts
{
    public static List<(ExampleKind Kind, List<EncodedExample> Examples)> Of(IReadOnlyList<EncodedExample> batch)
    {
        var parts = new List<(ExampleKind, List<EncodedExample>)>();
        foreach (var kind in new[] { ExampleKind.Bio, ExampleKind.Qa })
        {
            var part = batch.Where(e => e.Kind == kind).ToList();
            if (part.Count > 0) parts.Add((kind, part));
        }
        return parts;
    }
}
