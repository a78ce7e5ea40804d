using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Tests;

public class TorchLoadsTests
{
    [Fact]
    public void NativeLibraryLoadsAndBackwardComputesGradient()
    {
        using var x = tensor(new float[] { 1f, 2f, 3f }, requires_grad: true);
        using var y = (x * x).sum();
        y.backward();
        using var g = x.grad!;
        Assert.Equal(new float[] { 2f, 4f, 6f }, g.data<float>().ToArray());
    }
}
