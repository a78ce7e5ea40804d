using FactTrace.Models;

namespace FactTrace.Training;

/// <summary>
/// A training batch as an observer sees it: the stage, the global step it is about to become, the learning rate that
/// step uses (the stage's <see cref="LrSchedule"/> at the step, as passed to AdamW), its examples.
/// </summary>
public sealed record ObservedBatch(string Stage, int StageIndex, long Step, double Lr, IReadOnlyList<EncodedExample> Examples);

/// <summary>
/// A hook into <see cref="Trainer"/>: called once per batch, just before the optimizer step on it, i.e. at the weights
/// the step's gradient is taken at. An observer may run its own forward and backward passes (gradient tracing) but
/// must leave the weights unchanged and every gradient cleared (<c>model.zero_grad()</c>), so that training with and
/// without it is identical. It is not told about resumes: what it accumulates covers the steps run in this process.
/// </summary>
public interface ITrainingObserver
{
    void BeforeStep(CausalLM model, ObservedBatch batch);
}
