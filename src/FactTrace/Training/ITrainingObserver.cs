using FactTrace.Models;

namespace FactTrace.Training;

/// <summary>
/// A training batch as an observer sees it: the stage, the global step it is about to become, the learning rate that
/// step uses (the stage's <see cref="LrSchedule"/> at the step, as passed to AdamW), its examples.
/// </summary>
public sealed record ObservedBatch(string Stage, int StageIndex, long Step, double Lr, IReadOnlyList<EncodedExample> Examples);

/// <summary>
/// One task part of a training step, right after its backward pass: the parameters' gradients then hold exactly this
/// part's gradient of the step's loss, d/dtheta of (sum of the part's token losses) / <see cref="StepLossTokens"/>
/// (<see cref="Loss.NextTokenSum"/>). Multiplying by <see cref="StepLossTokens"/> gives the gradient of the part's
/// summed loss; by StepLossTokens / <see cref="LossTokens"/>, of its mean loss.
/// </summary>
public sealed record ObservedPart(ObservedBatch Batch, ExampleKind Kind, IReadOnlyList<EncodedExample> Examples, long LossTokens, long StepLossTokens);

/// <summary>
/// A hook into <see cref="Trainer"/>. <see cref="BeforeStep"/>: once per batch, before its step, at the weights the
/// step's gradient is taken at; it may run its own forward and backward passes but must leave the weights unchanged
/// and every gradient cleared (<c>model.zero_grad()</c>). <see cref="AfterPartBackward"/>: the trainer's own
/// backward pass of each task part (<see cref="TaskParts"/>), for reading the gradients without recomputing them; it
/// must not change them. Training with and without an observer is bitwise the same (<see cref="TrainStep"/>).
/// <para>
/// Resumes: the trainer's checkpoints hold the observer's state (<see cref="SaveState"/> writes into the checkpoint
/// folder, <see cref="LoadState"/> reads it back on resume), and <see cref="Fingerprint"/> is part of the run's
/// fingerprint, so a run is only continued by an observer of the same kind, and what it accumulates covers every step.
/// </para>
/// </summary>
public interface ITrainingObserver
{
    void BeforeStep(CausalLM model, ObservedBatch batch) { }
    void AfterPartBackward(CausalLM model, ObservedPart part) { }
    /// <summary>What the observer computes (kind and settings), for the run fingerprint; "" for one that keeps no state.</summary>
    string Fingerprint => "";
    void SaveState(string checkpointDir) { }
    void LoadState(string checkpointDir) { }
}
