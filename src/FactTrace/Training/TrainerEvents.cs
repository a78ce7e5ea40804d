using FactTrace.IO;

namespace FactTrace.Training;

/// <summary>Thrown when a run is abandoned on purpose (<see cref="TrainOptions.StopAfterStep"/>).</summary>
public sealed class TrainingStopped(long step) : Exception($"training stopped after step {step}");

/// <summary>Thrown after an interrupted run (Ctrl-C, SIGTERM) has saved a resumable state.</summary>
public sealed class TrainingInterrupted(long step, string stateDir)
    : FactTraceException($"interrupted after step {step}; the state in '{stateDir}' is saved: resume the run to continue (`facttrace train ... --resume`)", ErrorKind.Interrupted)
{
    public long Step { get; } = step;
}

/// <summary>Progress of a run, for a progress bar or periodic log lines.</summary>
public sealed record TrainProgress(string Stage, int StageIndex, int Stages, int Epoch, int Epochs, long Step,
    long TotalSteps, double Loss, double Lr, double TokensPerSecond);
