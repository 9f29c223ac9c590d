// @scorekit/native: oneDNN convolution and matmul kernels, and plain C++ broadcasting
// binary ops and axis reductions, working in place on the memory of
// tfjs-backend-wasm (an ArrayBuffer, the wasm heap) for scorekit's wasm backend.
//
// Every entry takes the heap ArrayBuffer and byte offsets of float32 tensors inside it, plus
// the shapes; nothing is copied. Primitives are cached by their shapes. Errors become JS
// exceptions (the JS side then falls back to the wasm kernel).
#include <node_api.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

dnnl::engine &eng() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
dnnl::stream &strm() {
  static dnnl::stream s(eng());
  return s;
}

struct JsError {
  std::string message;
};

// ---- argument helpers ------------------------------------------------------------------

char *heapBase(napi_env env, napi_value v, size_t *length) {
  bool isAb = false;
  napi_is_arraybuffer(env, v, &isAb);
  if (!isAb) throw JsError{"expected the wasm heap as an ArrayBuffer"};
  void *data = nullptr;
  napi_get_arraybuffer_info(env, v, &data, length);
  return static_cast<char *>(data);
}

int64_t intArg(napi_env env, napi_value v) {
  int64_t out = 0;
  if (napi_get_value_int64(env, v, &out) != napi_ok) throw JsError{"expected an integer"};
  return out;
}

std::vector<napi_value> args(napi_env env, napi_callback_info info, size_t expected) {
  size_t argc = expected;
  std::vector<napi_value> argv(expected);
  napi_get_cb_info(env, info, &argc, argv.data(), nullptr, nullptr);
  if (argc != expected)
    throw JsError{"expected " + std::to_string(expected) + " arguments, got " +
                  std::to_string(argc)};
  return argv;
}

float *at(char *base, size_t length, int64_t offset, int64_t count) {
  if (offset < 0 || static_cast<size_t>(offset + 4 * count) > length)
    throw JsError{"tensor outside the wasm heap"};
  return reinterpret_cast<float *>(base + offset);
}

template <typename F>
napi_value guarded(napi_env env, F f) {
  try {
    return f();
  } catch (const JsError &e) {
    napi_throw_error(env, "SCOREKIT_NATIVE", e.message.c_str());
  } catch (const dnnl::error &e) {
    napi_throw_error(env, "SCOREKIT_NATIVE", (std::string("oneDNN: ") + e.what()).c_str());
  } catch (const std::exception &e) {
    napi_throw_error(env, "SCOREKIT_NATIVE", e.what());
  }
  return nullptr;
}

using Args = std::vector<napi_value>;

// An entry point working on the wasm heap: checks the argument count, reads the heap (the
// first argument), runs `body(args, base, length)` and turns errors into JS exceptions.
template <typename F>
napi_value onHeap(napi_env env, napi_callback_info info, size_t expected, F body) {
  return guarded(env, [&]() -> napi_value {
    Args a = args(env, info, expected);
    size_t len = 0;
    char *base = heapBase(env, a[0], &len);
    body(a, base, len);
    return nullptr;
  });
}

// A float argument (the scalars of the fused updates).
float floatArg(napi_env env, napi_value v) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok) throw JsError{"expected a number"};
  return static_cast<float>(d);
}

// ---- convolutions ----------------------------------------------------------------------

// NHWC activations, tfjs filter layout [kh, kw, ci, co] (oneDNN hwio).
struct ConvShape {
  int64_t n, h, w, ci, ho, wo, co, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  std::string key(const char *kind) const {
    std::string k(kind);
    for (int64_t v : {n, h, w, ci, ho, wo, co, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr})
      k += "," + std::to_string(v);
    return k;
  }
  memory::desc src(tag t = tag::nhwc) const { return {{n, ci, h, w}, dt::f32, t}; }
  memory::desc dst(tag t = tag::nhwc) const { return {{n, co, ho, wo}, dt::f32, t}; }
  memory::desc wei(tag t = tag::hwio) const { return {{co, ci, kh, kw}, dt::f32, t}; }
  memory::dims strides() const { return {sh, sw}; }
  memory::dims dilates() const { return {dh - 1, dw - 1}; }  // oneDNN counts inserted zeros
  memory::dims padL() const { return {pt, pl}; }
  memory::dims padR() const { return {pb, pr}; }
};

ConvShape convShape(napi_env env, const std::vector<napi_value> &a, size_t from) {
  int64_t v[17];
  for (size_t i = 0; i < 17; i++) v[i] = intArg(env, a[from + i]);
  return {v[0], v[1], v[2],  v[3],  v[4],  v[5],  v[6],  v[7], v[8],
          v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16]};
}

dnnl::convolution_forward::primitive_desc forwardPd(const ConvShape &s) {
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training,
                                    dnnl::algorithm::convolution_direct, s.src(),
                                    s.wei(tag::any), s.dst(), s.strides(), s.dilates(),
                                    s.padL(), s.padR());
  return {d, eng()};
}

struct Cached {
  dnnl::primitive prim;
  memory::desc weightsMd;  // the layout the primitive wants for its weights
  bool reorder = false;
};

std::mutex cacheLock;
std::unordered_map<std::string, std::shared_ptr<Cached>> cache;

std::shared_ptr<Cached> lookup(const std::string &key) {
  std::lock_guard<std::mutex> g(cacheLock);
  auto it = cache.find(key);
  return it == cache.end() ? nullptr : it->second;
}
void store(const std::string &key, std::shared_ptr<Cached> c) {
  std::lock_guard<std::mutex> g(cacheLock);
  if (cache.size() > 4096) cache.clear();
  cache[key] = std::move(c);
}

// Reorders `from` (plain hwio) into a fresh buffer laid out as `md`, or back.
memory reordered(const memory &from, const memory::desc &md) {
  memory to(md, eng());
  dnnl::reorder(from, to).execute(strm(), const_cast<memory &>(from), to);
  return to;
}

napi_value conv2dForward(napi_env env, napi_callback_info info) {
  return onHeap(env, info, 21, [&](const Args &a, char *base, size_t len) {
    ConvShape s = convShape(env, a, 4);
    float *x = at(base, len, intArg(env, a[1]), s.n * s.h * s.w * s.ci);
    float *w = at(base, len, intArg(env, a[2]), s.kh * s.kw * s.ci * s.co);
    float *y = at(base, len, intArg(env, a[3]), s.n * s.ho * s.wo * s.co);
    std::string k = s.key("fwd");
    auto c = lookup(k);
    if (!c) {
      auto pd = forwardPd(s);
      c = std::make_shared<Cached>();
      c->prim = dnnl::convolution_forward(pd);
      c->weightsMd = pd.weights_desc();
      c->reorder = pd.weights_desc() != s.wei();
      store(k, c);
    }
    memory xm(s.src(), eng(), x), ym(s.dst(), eng(), y), wm(s.wei(), eng(), w);
    memory wk = c->reorder ? reordered(wm, c->weightsMd) : wm;
    c->prim.execute(strm(), {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wk}, {DNNL_ARG_DST, ym}});
    strm().wait();
  });
}

napi_value conv2dBackwardData(napi_env env, napi_callback_info info) {
  return onHeap(env, info, 21, [&](const Args &a, char *base, size_t len) {
    ConvShape s = convShape(env, a, 4);
    float *dy = at(base, len, intArg(env, a[1]), s.n * s.ho * s.wo * s.co);
    float *w = at(base, len, intArg(env, a[2]), s.kh * s.kw * s.ci * s.co);
    float *dx = at(base, len, intArg(env, a[3]), s.n * s.h * s.w * s.ci);
    std::string k = s.key("bwd_data");
    auto c = lookup(k);
    if (!c) {
      auto hint = forwardPd(s);
      dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, s.src(),
                                              s.wei(tag::any), s.dst(), s.strides(),
                                              s.dilates(), s.padL(), s.padR());
      dnnl::convolution_backward_data::primitive_desc pd(d, eng(), hint);
      c = std::make_shared<Cached>();
      c->prim = dnnl::convolution_backward_data(pd);
      c->weightsMd = pd.weights_desc();
      c->reorder = pd.weights_desc() != s.wei();
      store(k, c);
    }
    memory dym(s.dst(), eng(), dy), dxm(s.src(), eng(), dx), wm(s.wei(), eng(), w);
    memory wk = c->reorder ? reordered(wm, c->weightsMd) : wm;
    c->prim.execute(strm(),
                    {{DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_WEIGHTS, wk}, {DNNL_ARG_DIFF_SRC, dxm}});
    strm().wait();
  });
}

napi_value conv2dBackwardFilter(napi_env env, napi_callback_info info) {
  return onHeap(env, info, 21, [&](const Args &a, char *base, size_t len) {
    ConvShape s = convShape(env, a, 4);
    float *x = at(base, len, intArg(env, a[1]), s.n * s.h * s.w * s.ci);
    float *dy = at(base, len, intArg(env, a[2]), s.n * s.ho * s.wo * s.co);
    float *dw = at(base, len, intArg(env, a[3]), s.kh * s.kw * s.ci * s.co);
    std::string k = s.key("bwd_weights");
    auto c = lookup(k);
    if (!c) {
      auto hint = forwardPd(s);
      dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, s.src(),
                                                 s.wei(tag::any), s.dst(), s.strides(),
                                                 s.dilates(), s.padL(), s.padR());
      dnnl::convolution_backward_weights::primitive_desc pd(d, eng(), hint);
      c = std::make_shared<Cached>();
      c->prim = dnnl::convolution_backward_weights(pd);
      c->weightsMd = pd.diff_weights_desc();
      c->reorder = pd.diff_weights_desc() != s.wei();
      store(k, c);
    }
    memory xm(s.src(), eng(), x), dym(s.dst(), eng(), dy), dwm(s.wei(), eng(), dw);
    if (c->reorder) {
      memory tmp(c->weightsMd, eng());
      c->prim.execute(strm(),
                      {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_DIFF_WEIGHTS, tmp}});
      dnnl::reorder(tmp, dwm).execute(strm(), tmp, dwm);
    } else {
      c->prim.execute(strm(),
                      {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_DIFF_WEIGHTS, dwm}});
    }
    strm().wait();
  });
}

// ---- matmul ----------------------------------------------------------------------------

// c[b] = op(a[b or 0]) · op(b[b or 0]); a stored [batchA, M, K] ([batchA, K, M] if
// transposeA), b stored [batchB, K, N] ([batchB, N, K] if transposeB); c [batch, M, N].
napi_value matMul(napi_env env, napi_callback_info info) {
  return onHeap(env, info, 11, [&](const Args &a, char *base, size_t len) {
    int64_t ba = intArg(env, a[4]), bb = intArg(env, a[5]), m = intArg(env, a[6]),
            kk = intArg(env, a[7]), n = intArg(env, a[8]), ta = intArg(env, a[9]),
            tb = intArg(env, a[10]);
    if (ba != bb && ba != 1 && bb != 1) throw JsError{"batch dimensions do not broadcast"};
    int64_t batch = ba > bb ? ba : bb;
    float *pa = at(base, len, intArg(env, a[1]), ba * m * kk);
    float *pb = at(base, len, intArg(env, a[2]), bb * kk * n);
    float *pc = at(base, len, intArg(env, a[3]), batch * m * n);
    memory::desc amd({ba, m, kk}, dt::f32,
                     ta ? memory::dims{m * kk, 1, m} : memory::dims{m * kk, kk, 1});
    memory::desc bmd({bb, kk, n}, dt::f32,
                     tb ? memory::dims{kk * n, 1, kk} : memory::dims{kk * n, n, 1});
    memory::desc cmd({batch, m, n}, dt::f32, memory::dims{m * n, n, 1});
    std::string k = "mm," + std::to_string(ba) + "," + std::to_string(bb) + "," +
                    std::to_string(m) + "," + std::to_string(kk) + "," + std::to_string(n) +
                    "," + std::to_string(ta) + "," + std::to_string(tb);
    auto c = lookup(k);
    if (!c) {
      dnnl::matmul::desc d(amd, bmd, cmd);
      dnnl::matmul::primitive_desc pd(d, eng());
      c = std::make_shared<Cached>();
      c->prim = dnnl::matmul(pd);
      store(k, c);
    }
    memory am(amd, eng(), pa), bm(bmd, eng(), pb), cm(cmd, eng(), pc);
    c->prim.execute(strm(), {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
    strm().wait();
  });
}

// ---- elementwise binary ops with broadcasting -----------------------------------------

// The four arithmetic ops tfjs routes through its broadcasting binary kernels. Each is one
// IEEE float32 operation per element, so the results are bit-identical to tfjs-wasm's.
enum BinaryOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3 };

template <int OP>
inline float applyOp(float a, float b) {
  if constexpr (OP == kAdd) return a + b;
  if constexpr (OP == kSub) return a - b;
  if constexpr (OP == kMul) return a * b;
  return a / b;
}

// c (contiguous, dims d[0..3]) = a op b, where a and b are read with element strides
// sa/sb (0 on a broadcast dimension). The innermost loop has one of four stride patterns.
template <int OP>
void binaryLoop(const float *__restrict a, const float *__restrict b, float *__restrict c,
                const int64_t *d, const int64_t *sa, const int64_t *sb) {
  const int64_t n = d[3];
  for (int64_t i0 = 0; i0 < d[0]; i0++)
    for (int64_t i1 = 0; i1 < d[1]; i1++)
      for (int64_t i2 = 0; i2 < d[2]; i2++) {
        const float *pa = a + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
        const float *pb = b + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
        if (sa[3] == 1 && sb[3] == 1) {
          for (int64_t j = 0; j < n; j++) c[j] = applyOp<OP>(pa[j], pb[j]);
        } else if (sa[3] == 1) {
          const float vb = *pb;
          for (int64_t j = 0; j < n; j++) c[j] = applyOp<OP>(pa[j], vb);
        } else if (sb[3] == 1) {
          const float va = *pa;
          for (int64_t j = 0; j < n; j++) c[j] = applyOp<OP>(va, pb[j]);
        } else {
          const float v = applyOp<OP>(*pa, *pb);
          for (int64_t j = 0; j < n; j++) c[j] = v;
        }
        c += n;
      }
}

// binary(heap, op, a, b, c, d0..d3, sa0..sa3, sb0..sb3): the JS side collapses the broadcast
// to at most four dimensions and computes the strides.
napi_value binary(napi_env env, napi_callback_info info) {
  return onHeap(env, info, 17, [&](const Args &a, char *base, size_t len) {
    int64_t op = intArg(env, a[1]);
    int64_t d[4], sa[4], sb[4];
    for (int i = 0; i < 4; i++) {
      d[i] = intArg(env, a[5 + i]);
      sa[i] = intArg(env, a[9 + i]);
      sb[i] = intArg(env, a[13 + i]);
      if (d[i] < 1 || sa[i] < 0 || sb[i] < 0) throw JsError{"binary: bad dimensions"};
    }
    // the last element each operand reads, +1: its extent in the heap
    int64_t ea = 1, eb = 1;
    for (int i = 0; i < 4; i++) {
      ea += (d[i] - 1) * sa[i];
      eb += (d[i] - 1) * sb[i];
    }
    const float *pa = at(base, len, intArg(env, a[2]), ea);
    const float *pb = at(base, len, intArg(env, a[3]), eb);
    float *pc = at(base, len, intArg(env, a[4]), d[0] * d[1] * d[2] * d[3]);
    switch (op) {
      case kAdd: binaryLoop<kAdd>(pa, pb, pc, d, sa, sb); break;
      case kSub: binaryLoop<kSub>(pa, pb, pc, d, sa, sb); break;
      case kMul: binaryLoop<kMul>(pa, pb, pc, d, sa, sb); break;
      case kDiv: binaryLoop<kDiv>(pa, pb, pc, d, sa, sb); break;
      default: throw JsError{"binary: unknown op " + std::to_string(op)};
    }
  });
}

// ---- reductions over any axes --------------------------------------------------------

// reduce(heap, x, out, d0..d3, k0..k3, mean): x (contiguous, dims d[0..3]), out = Σ of x over
// the dimensions with k[i] = 0, kept where k[i] = 1 (÷ the count for the mean). x is read once
// in memory order, so each output adds its inputs in float, ordered by their index over the
// reduced axes — tfjs-wasm's order after it moves the reduced axes last — and the results are
// bit-identical to its Sum / Mean, without that transpose.
napi_value reduce(napi_env env, napi_callback_info info) {
  return onHeap(env, info, 12, [&](const Args &a, char *base, size_t len) {
    int64_t d[4], keep[4];
    for (int i = 0; i < 4; i++) {
      d[i] = intArg(env, a[3 + i]);
      keep[i] = intArg(env, a[7 + i]);
      if (d[i] < 1) throw JsError{"reduce: bad dimensions"};
    }
    bool mean = intArg(env, a[11]) != 0;
    // out is contiguous over the kept dimensions; so[i] = 0 on a reduced one
    int64_t so[4], outSize = 1, count = 1;
    for (int i = 3; i >= 0; i--) {
      so[i] = keep[i] ? outSize : 0;
      if (keep[i]) outSize *= d[i];
      else count *= d[i];
    }
    const float *__restrict x = at(base, len, intArg(env, a[1]), d[0] * d[1] * d[2] * d[3]);
    float *__restrict out = at(base, len, intArg(env, a[2]), outSize);
    for (int64_t i = 0; i < outSize; i++) out[i] = 0;
    const int64_t n = d[3];
    for (int64_t i0 = 0; i0 < d[0]; i0++)
      for (int64_t i1 = 0; i1 < d[1]; i1++)
        for (int64_t i2 = 0; i2 < d[2]; i2++) {
          float *po = out + i0 * so[0] + i1 * so[1] + i2 * so[2];
          if (keep[3]) {
            for (int64_t j = 0; j < n; j++) po[j] += x[j];
          } else {
            float acc = po[0];
            for (int64_t j = 0; j < n; j++) acc += x[j];
            po[0] = acc;
          }
          x += n;
        }
    if (mean) {
      const float c = static_cast<float>(count);
      for (int64_t i = 0; i < outSize; i++) out[i] = out[i] / c;
    }
  });
}

// ---- fused optimiser updates -----------------------------------------------------------

// adamUpdate(heap, p, g, m, v, pOut, mOut, vOut, len, beta1, 1−beta1, beta2, 1−beta2,
// √(1−β2ᵗ), eps, stepSize, weightDecay, coef, clipped): one Adam step (torch.optim.Adam) of
// one tensor. Every operation is a float32 one in the order of scorekit's per-tensor ops
// (training/src/adam.ts), so the results are bit-identical to them.
napi_value adamUpdate(napi_env env, napi_callback_info info) {
  return onHeap(env, info, 19, [&](const Args &a, char *base, size_t len) {
    const int64_t n = intArg(env, a[8]);
    float c[10];
    for (int i = 0; i < 10; i++) c[i] = floatArg(env, a[9 + i]);
    const float b1 = c[0], c1 = c[1], b2 = c[2], c2 = c[3], bc2 = c[4], eps = c[5], lr = c[6],
                wd = c[7], coef = c[8];
    const bool clipped = c[9] != 0;
    const float *__restrict p = at(base, len, intArg(env, a[1]), n);
    const float *__restrict g = at(base, len, intArg(env, a[2]), n);
    const float *__restrict m = at(base, len, intArg(env, a[3]), n);
    const float *__restrict v = at(base, len, intArg(env, a[4]), n);
    float *__restrict pT = at(base, len, intArg(env, a[5]), n);
    float *__restrict mT = at(base, len, intArg(env, a[6]), n);
    float *__restrict vT = at(base, len, intArg(env, a[7]), n);
    for (int64_t j = 0; j < n; j++) {
      float gj = g[j];
      if (clipped) gj = gj * coef;
      if (wd != 0) gj = gj + p[j] * wd;
      const float mj = m[j] * b1 + gj * c1;
      const float vj = v[j] * b2 + (gj * gj) * c2;
      const float denom = std::sqrt(vj) / bc2 + eps;
      pT[j] = p[j] - (mj / denom) * lr;
      mT[j] = mj;
      vT[j] = vj;
    }
  });
}

// emaUpdate(heap, s, p, out, len, 1 − decay): out = s − (1 − decay)·(s − p), in float32.
napi_value emaUpdate(napi_env env, napi_callback_info info) {
  return onHeap(env, info, 6, [&](const Args &a, char *base, size_t len) {
    const int64_t n = intArg(env, a[4]);
    const float c = floatArg(env, a[5]);
    const float *__restrict s = at(base, len, intArg(env, a[1]), n);
    const float *__restrict p = at(base, len, intArg(env, a[2]), n);
    float *__restrict out = at(base, len, intArg(env, a[3]), n);
    for (int64_t j = 0; j < n; j++) out[j] = s[j] - (s[j] - p[j]) * c;
  });
}

// ---- misc ------------------------------------------------------------------------------

napi_value setThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 1);
    int64_t n = intArg(env, a[0]);
    if (n < 1) throw JsError{"threads: expected a positive integer"};
    omp_set_num_threads(static_cast<int>(n));
    return nullptr;
  });
}

napi_value getThreads(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_int32(env, omp_get_max_threads(), &out);
  return out;
}

napi_value version(napi_env env, napi_callback_info) {
  const dnnl_version_t *v = dnnl_version();
  std::string s = std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                  std::to_string(v->patch);
  napi_value out;
  napi_create_string_utf8(env, s.c_str(), s.size(), &out);
  return out;
}

napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"conv2dForward", nullptr, conv2dForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackwardData", nullptr, conv2dBackwardData, nullptr, nullptr, nullptr,
       napi_default, nullptr},
      {"conv2dBackwardFilter", nullptr, conv2dBackwardFilter, nullptr, nullptr, nullptr,
       napi_default, nullptr},
      {"matMul", nullptr, matMul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"binary", nullptr, binary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduce", nullptr, reduce, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamUpdate", nullptr, adamUpdate, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"emaUpdate", nullptr, emaUpdate, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, setThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"getThreads", nullptr, getThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"version", nullptr, version, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
