namespace Recurrent.Diagnostics;

/// <summary>
/// Singular values of a small dense matrix by one-sided Jacobi (Hestenes) rotations in double:
/// columns are rotated pairwise until all are orthogonal; the singular values are then the
/// column norms. Unlike eigenvalues of AᵀA it does not square the condition number, so tiny
/// singular values (a vanishing Jacobian) keep their relative accuracy.
/// </summary>
public static class SingularValues
{
    /// <summary>Singular values of the rows×cols matrix <paramref name="a"/>, largest first (min(rows, cols) of them).</summary>
    public static double[] Compute(double[,] a)
    {
        ArgumentNullException.ThrowIfNull(a);
        int m = a.GetLength(0), n = a.GetLength(1);
        if (m == 0 || n == 0) return [];
        // Work on the orientation with at least as many rows as columns (σ(A) = σ(Aᵀ)).
        bool transpose = n > m;
        int rows = transpose ? n : m, cols = transpose ? m : n;
        var u = new double[cols][];           // u[j] = column j
        for (int j = 0; j < cols; j++)
        {
            u[j] = new double[rows];
            for (int i = 0; i < rows; i++) u[j][i] = transpose ? a[j, i] : a[i, j];
        }
        for (int sweep = 0; sweep < 60; sweep++)
        {
            bool rotated = false;
            for (int p = 0; p < cols - 1; p++)
            for (int q = p + 1; q < cols; q++)
            {
                double alpha = 0, beta = 0, gamma = 0;
                var up = u[p];
                var uq = u[q];
                for (int i = 0; i < rows; i++)
                {
                    alpha += up[i] * up[i];
                    beta += uq[i] * uq[i];
                    gamma += up[i] * uq[i];
                }
                if (gamma == 0 || Math.Abs(gamma) <= 1e-15 * Math.Sqrt(alpha * beta)) continue;
                rotated = true;
                // The rotation that zeroes the (p, q) entry of the Gram matrix.
                double zeta = (beta - alpha) / (2 * gamma);
                double t = Math.Sign(zeta == 0 ? 1 : zeta) / (Math.Abs(zeta) + Math.Sqrt(1 + zeta * zeta));
                double c = 1 / Math.Sqrt(1 + t * t), s = c * t;
                for (int i = 0; i < rows; i++)
                {
                    double x = up[i], y = uq[i];
                    up[i] = c * x - s * y;
                    uq[i] = s * x + c * y;
                }
            }
            if (!rotated) break;
        }
        var sigma = new double[cols];
        for (int j = 0; j < cols; j++)
        {
            double sum = 0;
            foreach (double v in u[j]) sum += v * v;
            sigma[j] = Math.Sqrt(sum);
        }
        Array.Sort(sigma, (x, y) => y.CompareTo(x));
        return sigma;
    }
}
