/* AdamW and the gradient-norm helpers used for clipping. */
#include "layers.h"
#include "reduce.h"

#include <math.h>

/* PyTorch's torch.optim.AdamW step (default, non-amsgrad form):
 *   param *= 1 - lr*wd;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2
 *   param -= lr * (m/(1-b1^step)) / (sqrt(v/(1-b2^step)) + eps)
 * decay == 0 skips the first line (biases and normalisation parameters). */
void snn_adamw_update(float *param, const float *grad, float *m, float *v, size_t n,
                      long step, const snn_adamw_params *p, int decay)
{
    float bc1 = (float)(1.0 - pow(p->beta1, (double)step));
    float bc2_sqrt = (float)sqrt(1.0 - pow(p->beta2, (double)step));
    float shrink = decay ? 1.0f - p->lr * p->weight_decay : 1.0f;
    float step_size = p->lr / bc1;

#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        m[i] = p->beta1 * m[i] + (1.0f - p->beta1) * g;
        v[i] = p->beta2 * v[i] + (1.0f - p->beta2) * g * g;
        float denom = sqrtf(v[i]) / bc2_sqrt + p->eps;
        param[i] = param[i] * shrink - step_size * m[i] / denom;
    }
}

double snn_grad_norm(const float *grad, size_t n)
{
    return sqrt(snn_dot(grad, grad, n));
}

void snn_scale(float *x, size_t n, float factor)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        x[i] *= factor;
}
