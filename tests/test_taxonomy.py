"""The default taxonomy (tracekit/taxonomy/default.toml) on real names, its precedence
through tracekit.taxonomy.apply.classify on real corpus traces, and user taxonomy files.

Kernel and op names below are copied as strings from the traces in ../shared/corpus
(Kineto, Nsight Systems and TensorRT engine graphs); a few families the corpus lacks
(flash attention, TorchInductor, ROCm, bitsandbytes) use names of their documented shape.
The corpus files themselves are read in place, never copied.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import tracekit
from tracekit.model import TraceError
from tracekit.taxonomy import OTHER, UNATTRIBUTED, Taxonomy, TaxonomyError, module_class, normalize_op
from tracekit.taxonomy.apply import TRANSFER

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
KINETO = CORPUS / "kineto"
RESNET = "facebookresearch__param__train__compute__python__test__data__resnet_kineto.json.gz"

TX = Taxonomy.default()


def _id(value) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ----------------------------------------------------------------------------- kernels
# Real kernel names from the Kineto corpus (V100/A100 resnet, DLRM, MTIA, MI250, ...).
KERNELS_KINETO = [
    ('void cudnn::detail::dgrad_engine<float, 512, 6, 5, 3, 3, 3, false>(int, int, int, float const*, int, float const*, int, float*, kernel_grad_params, unsigned long long, int, unsigned long long, int, float, int, int, int)',
     'Convolution'),
    ('void wgrad_alg0_engine<float, 128, 6, 7, 3, 3, 5, false, 512>(int, int, int, float const*, int, float*, float const*, kernel_grad_params, unsigned long long, int, float, int, int, int, int)',
     'Convolution'),
    ('void implicit_convolve_sgemm<float, float, 1024, 6, 7, 3, 3, 5, 1, false, true, true>(int, int, int, float const*, int, float*, float const*, kernel_conv_params, unsigned long long, int, float, float, int, float const*, float const*, bool, int, int)',
     'Convolution'),
    ('void cudnn::winograd_nonfused::winogradForwardData4x4<float, float>(cudnn::winograd_nonfused::WinogradDataParams<float, float>)',
     'Convolution'),
    ('void fft2d_r2c_32x32<float, false, 1u, false>(float2*, float const*, int, int, int, int, int, int, int, int, int, cudnn::reduced_divisor, bool, int2, int, int)',
     'Convolution'),
    ('void fft2d_c2r_16x16<float, false>(float*, float2*, int, int, int, int, int, int, int, int, int, int, float, float, int, float*, float*)',
     'Convolution'),
    ('void flip_filter<float, float>(float*, float const*, int, int, int, int)',
     'Convolution'),
    ('void pointwise_mult_and_sum_complex<float2, 8, 4>(float2*, float2*, float2*, int, int, int, int, int, float2)',
     'Convolution'),
    ('cask_cudnn::computeOffsetsKernel(cask_cudnn::ComputeOffsetsParams)',
     'Convolution'),
    ('_ZN19cutlass_cudnn_train6KernelINS_4conv6kernel23ImplicitGemmConvolutionINS1_11threadblock22ImplicitGemmMultistageINS_4gemm9GemmShapeILi128ELi128ELi32EEENS4_52Conv2dWgradOutputGradientTileAccessIteratorOptimizedINS_11MatrixShapeILi128ELi32EEENS_10tfloat32_tENS_9transform29PitchLinearWarpRakedThreadMapINS_16PitchLinearShapeILi128ELi32EEELi128ENSF_ILi8ELi4EEELi4EEENS_12AlignedArrayISC_Li4ELi16EEEEENSD_11threadblock25RegularTileAccessIteratorISB_SC_NS_6layout40ColumnMajorTensorOpMultiplicandCongruousILi32ELi32EEELi1ESI_Li16EEELNS_4arch14CacheOperation4KindE0ENS4_48Conv2dWgradActivationTileAccessIteratorOptimizedINSA_ILi32ELi128EEESC_SI_SK_EENSN_ISW_SC_NSO_37RowMajorTensorOpMultiplicandCongruousILi32ELi32EEELi0ESI_Li16EEELSU_0ENS6_11threadblock9MmaPolicyINS6_4warp11MmaTensorOpINS7_ILi64ELi64ELi32EEESC_SQ_SC_SZ_fNSO_8RowMajorENS13_17MmaTensorOpPolicyINSS_3MmaINS7_ILi16ELi8ELi8EEELi32ESC_S16_SC_NSO_11ColumnMajorEfS16_NSS_13OpMultiplyAddEEENSA_ILi1ELi1EEEEELi1ELb0EbEENSA_ILi0ELi0EEES1G_Li1EEELi4EbEENS_8epilogue11threadblock8EpilogueIS8_S1F_Li1ENS1K_22PredicatedTileIteratorINS1K_26OutputTileOptimalThreadMapINS1K_15OutputTileShapeILi128ELi8ELi2ELi1ELi1EEENS1O_ILi1ELi8ELi1ELi1ELi8EEELi128ELi4ELi32EEEfLb0ENSO_9NoPermuteELb0EEENS1J_4warp24FragmentIteratorTensorOpIS15_S19_fNS_5ArrayIfLi4ELb1EEES16_EENS1U_20TileIteratorTensorOpIS15_S19_fS16_EENS1K_18SharedLoadIteratorINS1R_18CompactedThreadMapEfLi16EEENS1J_6thread17LinearCombinationIfLi4EffLNS24_9ScaleType4KindE0ELNS_15FloatRoundStyleE2EEENSA_ILi0ELi8EEELi2ELi1EEENS11_30GemmIdentityThreadblockSwizzleILi4EEELNS1_8OperatorE2ENS1_17Conv2dProblemSizeELNS1_9GroupModeE0EEEEEvNT_6ParamsE',
     'Convolution'),
    ('void cutlass_cudnn_train::Kernel<cutlass_cudnn_train::reduction::kernel::ReduceSplitK<cutlass_cudnn_train::MatrixShape<4, 128>, cutlass_cudnn_train::epilogue::thread::LinearCombination<float, 4, float, float, (cutlass_cudnn_train::epilogue::thread::ScaleType::Kind)0, (cutlass_cudnn_train::FloatRoundStyle)2>, cutlass_cudnn_train::reduction::thread::ReduceAdd<float, float, 4>, 4> >(cutlass_cudnn_train::reduction::kernel::ReduceSplitK<cutlass_cudnn_train::MatrixShape<4, 128>, cutlass_cudnn_train::epilogue::thread::LinearCombination<float, 4, float, float, (cutlass_cudnn_train::epilogue::thread::ScaleType::Kind)0, (cutlass_cudnn_train::FloatRoundStyle)2>, cutlass_cudnn_train::reduction::thread::ReduceAdd<float, float, 4>, 4>::Params)',
     'Convolution'),
    ('void cutlass_cudnn_infer::Kernel<cutlass_tensorop_s1688fprop_optimized_tf32_128x128_16x4_nhwc_align4>(cutlass_tensorop_s1688fprop_optimized_tf32_128x128_16x4_nhwc_align4::Params)',
     'Convolution'),
    ('sm80_xmma_fprop_implicit_gemm_indexed_tf32f32_tf32f32_f32_nhwckrsc_nchw_tilesize128x128x16_stage4_warpsize2x2x1_g1_tensor16x8x8_alignc4_execute_kernel_cudnn',
     'Convolution'),
    ('void cudnn::bn_bw_1C11_kernel_new<float, float, float2, 512, true, 1>(float, float, float, float, cudnnTensorStruct, float const*, cudnnTensorStruct, float const*, cudnnTensorStruct, float*, float const*, float*, float*, float const*, float const*, float)',
     'Normalization'),
    ('void cudnn::bn_fw_tr_1C11_kernel_NCHW<float, float, 512, true, 1>(cudnnTensorStruct, float const*, cudnnTensorStruct, float*, float const*, float const*, float, float, float*, float*, float*, float*, float, float)',
     'Normalization'),
    ('void at::native::(anonymous namespace)::vectorized_layer_norm_kernel<float, float>(int, float, float const*, float const*, float const*, float*, float*, float*)',
     'Normalization'),
    ('void at::native::(anonymous namespace)::layer_norm_grad_input_kernel<float, float>(float const*, float const*, float const*, float const*, float const*, float*, int)',
     'Normalization'),
    ('void at::native::(anonymous namespace)::GammaBetaBackwardCUDAKernel<float, float>(long, long, float const*, float const*, float const*, float const*, float*, float*)',
     'Normalization'),
    ('void at::native::(anonymous namespace)::RowwiseMomentsCUDAKernel<float, float>(long, float, float const*, float*, float*)',
     'Normalization'),
    ('void (anonymous namespace)::softmax_warp_forward<float, float, float, 10, true>(float*, float const*, int, int, int)',
     'Softmax'),
    ('void (anonymous namespace)::softmax_warp_backward<float, float, float, 10, true>(float*, float const*, float const*, int, int, int)',
     'Softmax'),
    ('void at::native::(anonymous namespace)::max_pool_forward_nchw<float, float>(int, float const*, long, long, long, int, int, int, int, int, int, int, int, int, int, float*, long*)',
     'Pooling'),
    ('void at::native::(anonymous namespace)::max_pool_backward_nchw<float, float>(float const*, long const*, int, long, long, long, int, int, int, int, int, int, int, int, int, int, float*)',
     'Pooling'),
    ('void at::native::(anonymous namespace)::adaptive_average_pool<float>(float const*, float*, int, int, int, int, long, long, long)',
     'Pooling'),
    ('void at::native::vectorized_elementwise_kernel<4, at::native::AddFunctor<float>, at::detail::Array<char*, 3> >(int, at::native::AddFunctor<float>, at::detail::Array<char*, 3>)',
     'Elementwise'),
    ('void at::native::vectorized_elementwise_kernel<4, at::native::CUDAFunctor_add<float>, at::detail::Array<char*, 3> >(int, at::native::CUDAFunctor_add<float>, at::detail::Array<char*, 3>)',
     'Elementwise'),
    ('void at::native::unrolled_elementwise_kernel<at::native::CUDAFunctor_add<double>, at::detail::Array<char*, 3>, TrivialOffsetCalculator<2, unsigned int>, TrivialOffsetCalculator<1, unsigned int>, at::native::memory::LoadWithCast<2>, at::native::memory::StoreWithCast<1> >(int, at::native::CUDAFunctor_add<double>, at::detail::Array<char*, 3>, TrivialOffsetCalculator<2, unsigned int>, TrivialOffsetCalculator<1, unsigned int>, at::native::memory::LoadWithCast<2>, at::native::memory::StoreWithCast<1>)',
     'Elementwise'),
    ('void at::native::unrolled_elementwise_kernel<at::native::AUnaryFunctor<float, float, float, at::native::binary_internal::MulFunctor<float> >, at::detail::Array<char*, 2>, TrivialOffsetCalculator<1, unsigned int>, TrivialOffsetCalculator<1, unsigned int>, at::native::memory::LoadWithoutCast, at::native::memory::StoreWithoutCast>(int, at::native::AUnaryFunctor<float, float, float, at::native::binary_internal::MulFunctor<float> >, at::detail::Array<char*, 2>, TrivialOffsetCalculator<1, unsigned int>, TrivialOffsetCalculator<1, unsigned int>, at::native::memory::LoadWithoutCast, at::native::memory::StoreWithoutCast)',
     'Elementwise'),
    ('void at::native::elementwise_kernel<128, 2, at::native::gpu_kernel_impl_nocast<at::native::BinaryFunctor<float, float, float, at::native::binary_internal::MulFunctor<float> > >(at::TensorIteratorBase&, at::native::BinaryFunctor<float, float, float, at::native::binary_internal::MulFunctor<float> > const&)::{lambda(int)#1}>(int, at::native::gpu_kernel_impl_nocast<at::native::BinaryFunctor<float, float, float, at::native::binary_internal::MulFunctor<float> > >(at::TensorIteratorBase&, at::native::BinaryFunctor<float, float, float, at::native::binary_internal::MulFunctor<float> > const&)::{lambda(int)#1})',
     'Elementwise'),
    ('void at::native::unrolled_elementwise_kernel<at::native::addcdiv_cuda_kernel(at::TensorIteratorBase&, c10::Scalar const&)::{lambda()#2}::operator()() const::{lambda()#7}::operator()() const::{lambda(float, float, float)#1}, at::detail::Array<char*, 4>, TrivialOffsetCalculator<3, unsigned int>, TrivialOffsetCalculator<1, unsigned int>, at::native::memory::LoadWithoutCast, at::native::memory::StoreWithoutCast>(int, at::native::addcdiv_cuda_kernel(at::TensorIteratorBase&, c10::Scalar const&)::{lambda()#2}::operator()() const::{lambda()#7}::operator()() const::{lambda(float, float, float)#1}, at::detail::Array<char*, 4>, TrivialOffsetCalculator<3, unsigned int>, TrivialOffsetCalculator<1, unsigned int>, at::native::memory::LoadWithoutCast, at::native::memory::StoreWithoutCast)',
     'Elementwise'),
    ('void at::native::reduce_kernel<512, 1, at::native::ReduceOp<float, at::native::WelfordOps<float, float, int, float, thrust::pair<float, float> >, unsigned int, float, 2> >(at::native::ReduceOp<float, at::native::WelfordOps<float, float, int, float, thrust::pair<float, float> >, unsigned int, float, 2>)',
     'Elementwise'),
    ('void at::native::reduce_kernel<128, 4, at::native::ReduceOp<float, at::native::func_wrapper_t<float, at::native::sum_functor<float, float, float>::operator()(at::TensorIterator&)::{lambda(float, float)#1}>, unsigned int, float, 4> >(at::native::ReduceOp<float, at::native::func_wrapper_t<float, at::native::sum_functor<float, float, float>::operator()(at::TensorIterator&)::{lambda(float, float)#1}>, unsigned int, float, 4>)',
     'Elementwise'),
    ('void at::native::reduce_kernel<512, 1, at::native::ReduceOp<float, at::native::NormTwoOps<float, float, float>, unsigned int, float, 4> >(at::native::ReduceOp<float, at::native::NormTwoOps<float, float, float>, unsigned int, float, 4>)',
     'Elementwise'),
    ('void multi_tensor_apply_kernel<TensorListMetadata<4>, AdamFunctor<float>, float, float, float, float, float, float, float, float, adamMode_t, float, int, int, int>(int, int volatile*, TensorListMetadata<4>, AdamFunctor<float>, float, float, float, float, float, float, float, float, adamMode_t, float, int, int, int)',
     'Elementwise'),
    ('void at::native::(anonymous namespace)::multi_tensor_apply_kernel<at::native::(anonymous namespace)::TensorListMetadata<2>, at::native::(anonymous namespace)::BinaryOpListAlphaFunctor<float, 2, 2, 0>, std::plus<float>, float>(at::native::(anonymous namespace)::TensorListMetadata<2>, at::native::(anonymous namespace)::BinaryOpListAlphaFunctor<float, 2, 2, 0>, std::plus<float>, float)',
     'Elementwise'),
    ('void cub::DeviceScanInitKernel<cub::ScanTileState<int, true> >(cub::ScanTileState<int, true>, int)',
     'Elementwise'),
    ('void cub::DeviceRadixSortOnesweepKernel<cub::DeviceRadixSortPolicy<long, int, int>::Policy800, false, long, int, int, int>(int*, int*, int*, int const*, long*, long const*, int*, int const*, int, int, int)',
     'Elementwise'),
    ('void cub::DeviceReduceByKeyKernel<cub::DispatchReduceByKey<long*, long*, cub::ConstantInputIterator<int, int>, int*, int*, cub::Equality, cub::Sum, int>::PtxReduceByKeyPolicy, long*, long*, cub::ConstantInputIterator<int, int>, int*, int*, cub::ReduceByKeyScanTileState<int, int, true>, cub::Equality, cub::Sum, int>(long*, long*, cub::ConstantInputIterator<int, int>, int*, int*, cub::ReduceByKeyScanTileState<int, int, true>, int, cub::Equality, cub::Sum, int)',
     'Elementwise'),
    ('void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>, at::detail::Array<char*, 1> >(int, at::native::FillFunctor<float>, at::detail::Array<char*, 1>)',
     'Memory'),
    ('void at::native::unrolled_elementwise_kernel<at::native::(anonymous namespace)::direct_copy_kernel_cuda(at::TensorIteratorBase&)::{lambda()#2}::operator()() const::{lambda()#14}::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2>, TrivialOffsetCalculator<1, unsigned int>, TrivialOffsetCalculator<1, unsigned int>, at::native::memory::LoadWithCast<1>, at::native::memory::StoreWithCast<1> >(int, at::native::(anonymous namespace)::direct_copy_kernel_cuda(at::TensorIteratorBase&)::{lambda()#2}::operator()() const::{lambda()#14}::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2>, TrivialOffsetCalculator<1, unsigned int>, TrivialOffsetCalculator<1, unsigned int>, at::native::memory::LoadWithCast<1>, at::native::memory::StoreWithCast<1>)',
     'Memory'),
    ('void at::native::unrolled_elementwise_kernel<at::native::copy_device_to_device(at::TensorIterator&, bool)::{lambda()#2}::operator()() const::{lambda()#4}::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2>, OffsetCalculator<1, unsigned int>, char*, at::native::memory::LoadWithoutCast, at::detail::Array<char*, 2>::StoreWithoutCast>(int, at::native::copy_device_to_device(at::TensorIterator&, bool)::{lambda()#2}::operator()() const::{lambda()#4}::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2>, OffsetCalculator<1, unsigned int>, char*, at::native::memory::LoadWithoutCast, at::detail::Array<char*, 2>::StoreWithoutCast)',
     'Memory'),
    ('void at::native::(anonymous namespace)::CatArrayBatchedCopy<float, unsigned int, 2, 128, 1>(float*, at::native::(anonymous namespace)::CatArrInputTensorMetadata<float, unsigned int, 128, 1>, at::native::(anonymous namespace)::TensorSizeStride<unsigned int, 4u>, int, unsigned int)',
     'Memory'),
    ('void at::native::(anonymous namespace)::CatArrayBatchedCopy_aligned16_contig<at::native::(anonymous namespace)::OpaqueType<4u>, unsigned int, 1, 128, 1>(at::native::(anonymous namespace)::OpaqueType<4u>*, at::native::(anonymous namespace)::CatArrInputTensorMetadata<at::native::(anonymous namespace)::OpaqueType<4u>, unsigned int, 128, 1>, at::native::(anonymous namespace)::TensorSizeStride<unsigned int, 4u>, int, unsigned int)',
     'Memory'),
    ('void at::native::index_elementwise_kernel<128, 4, at::native::gpu_index_kernel<at::native::index_kernel_impl<at::native::OpaqueType<8> >(at::TensorIteratorBase&, c10::ArrayRef<long>, c10::ArrayRef<long>)::{lambda(char*, char*, long)#1}>(at::TensorIteratorBase&, c10::ArrayRef<long>, c10::ArrayRef<long>, at::native::index_kernel_impl<at::native::OpaqueType<8> >(at::TensorIteratorBase&, c10::ArrayRef<long>, c10::ArrayRef<long>)::{lambda(char*, char*, long)#1} const&)::{lambda(int)#1}>(int, at::native::gpu_index_kernel<at::native::index_kernel_impl<at::native::OpaqueType<8> >(at::TensorIteratorBase&, c10::ArrayRef<long>, c10::ArrayRef<long>)::{lambda(char*, char*, long)#1}>(at::TensorIteratorBase&, c10::ArrayRef<long>, c10::ArrayRef<long>, at::native::index_kernel_impl<at::native::OpaqueType<8> >(at::TensorIteratorBase&, c10::ArrayRef<long>, c10::ArrayRef<long>)::{lambda(char*, char*, long)#1} const&)::{lambda(int)#1})',
     'Memory'),
    ('void at::native::_scatter_gather_elementwise_kernel<128, 4, at::native::_cuda_scatter_gather_internal_kernel<true, float>::operator()<at::native::ReduceAdd>(at::TensorIterator&, long, long, long, at::native::ReduceAdd const&)::{lambda(int)#1}>(int, at::native::_cuda_scatter_gather_internal_kernel<true, float>::operator()<at::native::ReduceAdd>(at::TensorIterator&, long, long, long, at::native::ReduceAdd const&)::{lambda(int)#1})',
     'Memory'),
    ('void at::native::(anonymous namespace)::indexSelectLargeIndex<float, int, unsigned int, 1, 1, -2, true>(at::cuda::detail::TensorInfo<float, unsigned int>, at::cuda::detail::TensorInfo<float, unsigned int>, at::cuda::detail::TensorInfo<int, unsigned int>, int, int, unsigned int, unsigned int, long)',
     'Memory'),
    ('void at::native::vectorized_elementwise_kernel<4, at::native::(anonymous namespace)::masked_fill_kernel(at::TensorIterator&, c10::Scalar const&)::{lambda()#1}::operator()() const::{lambda()#7}::operator()() const::{lambda(float, bool)#1}, at::detail::Array<char*, 3> >(int, at::native::(anonymous namespace)::masked_fill_kernel(at::TensorIterator&, c10::Scalar const&)::{lambda()#1}::operator()() const::{lambda()#7}::operator()() const::{lambda(float, bool)#1}, at::detail::Array<char*, 3>)',
     'Memory'),
    ('void (anonymous namespace)::elementwise_kernel_with_index<int, at::native::arange_cuda_out(c10::Scalar const&, c10::Scalar const&, c10::Scalar const&, at::Tensor&)::{lambda()#1}::operator()() const::{lambda()#4}::operator()() const::{lambda(long)#1}>(int, at::native::arange_cuda_out(c10::Scalar const&, c10::Scalar const&, c10::Scalar const&, at::Tensor&)::{lambda()#1}::operator()() const::{lambda()#4}::operator()() const::{lambda(long)#1}, function_traits<at::native::arange_cuda_out(c10::Scalar const&, c10::Scalar const&, c10::Scalar const&, at::Tensor&)::{lambda()#1}::operator()() const::{lambda()#4}::operator()() const::{lambda(long)#1}>::result_type*)',
     'Memory'),
    ('void cudnn::ops::nchwToNhwcKernel<float, float, float, false, true, (cudnnKernelDataType_t)2>(cudnn::ops::nchw2nhwc_params_t<float>, float const*, float*)',
     'Memory'),
    ('void at::native::vectorized_elementwise_kernel<4, at::native::threshold_kernel_impl<float>(at::TensorIterator&, float, float)::{lambda(float, float)#1}, at::detail::Array<char*, 3> >(int, at::native::threshold_kernel_impl<float>(at::TensorIterator&, float, float)::{lambda(float, float)#1}, at::detail::Array<char*, 3>)',
     'Activation'),
    ('void at::native::vectorized_elementwise_kernel<4, at::native::BinaryFunctor<float, float, float, at::native::(anonymous namespace)::threshold_kernel_impl<float>(at::TensorIteratorBase&, float, float)::{lambda(float, float)#1}>, at::detail::Array<char*, 3> >(int, at::native::BinaryFunctor<float, float, float, at::native::(anonymous namespace)::threshold_kernel_impl<float>(at::TensorIteratorBase&, float, float)::{lambda(float, float)#1}>, at::detail::Array<char*, 3>)',
     'Activation'),
    ('void at::native::vectorized_elementwise_kernel<4, at::native::(anonymous namespace)::launch_clamp_scalar(at::TensorIteratorBase&, c10::Scalar, c10::Scalar, at::native::detail::ClampLimits)::{lambda()#1}::operator()() const::{lambda()#7}::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2> >(int, at::native::(anonymous namespace)::launch_clamp_scalar(at::TensorIteratorBase&, c10::Scalar, c10::Scalar, at::native::detail::ClampLimits)::{lambda()#1}::operator()() const::{lambda()#7}::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2>)',
     'Activation'),
    ('void at::native::vectorized_elementwise_kernel<4, at::native::(anonymous namespace)::clamp_min_scalar_kernel_impl(at::TensorIterator&, c10::Scalar)::{lambda()#1}::operator()() const::{lambda()#8}::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2> >(int, at::native::(anonymous namespace)::clamp_min_scalar_kernel_impl(at::TensorIterator&, c10::Scalar)::{lambda()#1}::operator()() const::{lambda()#8}::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2>)',
     'Activation'),
    ('void at::native::vectorized_elementwise_kernel<4, at::native::sigmoid_kernel_cuda(at::TensorIteratorBase&)::{lambda()#2}::operator()() const::{lambda()#4}::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2> >(int, at::native::sigmoid_kernel_cuda(at::TensorIteratorBase&)::{lambda()#2}::operator()() const::{lambda()#4}::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2>)',
     'Activation'),
    ('void at::native::vectorized_elementwise_kernel<4, at::native::tanh_backward_kernel_cuda(at::TensorIteratorBase&)::{lambda()#2}::operator()() const::{lambda()#4}::operator()() const::{lambda(float, float)#1}, at::detail::Array<char*, 3> >(int, at::native::tanh_backward_kernel_cuda(at::TensorIteratorBase&)::{lambda()#2}::operator()() const::{lambda()#4}::operator()() const::{lambda(float, float)#1}, at::detail::Array<char*, 3>)',
     'Activation'),
    ('void at::native::(anonymous namespace)::fused_dropout_kernel_vec<float, float, unsigned int, 1, 4, bool>(at::cuda::detail::TensorInfo<float, unsigned int>, at::cuda::detail::TensorInfo<float, unsigned int>, at::cuda::detail::TensorInfo<bool, unsigned int>, unsigned int, float, at::PhiloxCudaState)',
     'Elementwise'),
    ('void at::native::(anonymous namespace)::nll_loss_forward_reduce_cuda_kernel_2d<float, float, long>(float*, float*, float*, long*, float*, bool, long, long, long, long)',
     'Elementwise'),
    ('void cunn_ClassNLLCriterion_updateOutput_kernel<float, float>(float*, float*, float*, long*, float*, int, int, int, int, long)',
     'Elementwise'),
    ('void at::native::(anonymous namespace)::distribution_elementwise_grid_stride_kernel<float, 4, at::native::templates::cuda::uniform_and_transform<float, float, 4ul, at::CUDAGeneratorImpl*, at::native::templates::cuda::uniform_kernel<at::CUDAGeneratorImpl*>(at::TensorIteratorBase&, double, double, at::CUDAGeneratorImpl*)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1}>(at::TensorIteratorBase&, at::CUDAGeneratorImpl*, at::native::templates::cuda::uniform_kernel<at::CUDAGeneratorImpl*>(at::TensorIteratorBase&, double, double, at::CUDAGeneratorImpl*)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1})::{lambda(curandStatePhilox4_32_10*)#2}, at::native::(anonymous namespace)::distribution_nullary_kernel<float, float, 4, at::CUDAGeneratorImpl*, at::native::templates::cuda::uniform_and_transform<float, float, 4ul, at::CUDAGeneratorImpl*, at::native::templates::cuda::uniform_kernel<at::CUDAGeneratorImpl*>(at::TensorIteratorBase&, double, double, at::CUDAGeneratorImpl*)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1}>(at::TensorIteratorBase&, at::CUDAGeneratorImpl*, at::native::templates::cuda::uniform_kernel<at::CUDAGeneratorImpl*>(at::TensorIteratorBase&, double, double, at::CUDAGeneratorImpl*)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1})::{lambda(curandStatePhilox4_32_10*)#2}, at::native::templates::cuda::uniform_kernel<at::CUDAGeneratorImpl*>(at::TensorIteratorBase&, double, double, at::CUDAGeneratorImpl*)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1}>(at::TensorIteratorBase&, at::CUDAGeneratorImpl*, at::native::templates::cuda::uniform_and_transform<float, float, 4ul, at::CUDAGeneratorImpl*, at::native::templates::cuda::uniform_kernel<at::CUDAGeneratorImpl*>(at::TensorIteratorBase&, double, double, at::CUDAGeneratorImpl*)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1}>(at::TensorIteratorBase&, at::CUDAGeneratorImpl*, at::native::templates::cuda::uniform_kernel<at::CUDAGeneratorImpl*>(at::TensorIteratorBase&, double, double, at::CUDAGeneratorImpl*)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1})::{lambda(curandStatePhilox4_32_10*)#2} const&, at::native::templates::cuda::uniform_kernel<at::CUDAGeneratorImpl*>(at::TensorIteratorBase&, double, double, at::CUDAGeneratorImpl*)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1})::{lambda(int, float)#1}>(int, at::PhiloxCudaState, at::native::templates::cuda::uniform_and_transform<float, float, 4ul, at::CUDAGeneratorImpl*, at::native::templates::cuda::uniform_kernel<at::CUDAGeneratorImpl*>(at::TensorIteratorBase&, double, double, at::CUDAGeneratorImpl*)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1}>(at::TensorIteratorBase&, at::CUDAGeneratorImpl*, at::native::templates::cuda::uniform_kernel<at::CUDAGeneratorImpl*>(at::TensorIteratorBase&, double, double, at::CUDAGeneratorImpl*)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1})::{lambda(curandStatePhilox4_32_10*)#2}, at::native::(anonymous namespace)::distribution_nullary_kernel<float, float, 4, at::CUDAGeneratorImpl*, at::native::templates::cuda::uniform_and_transform<float, float, 4ul, at::CUDAGeneratorImpl*, at::native::templates::cuda::uniform_kernel<at::CUDAGeneratorImpl*>(at::TensorIteratorBase&, double, double, at::CUDAGeneratorImpl*)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1}>(at::TensorIteratorBase&, at::CUDAGeneratorImpl*, at::native::templates::cuda::uniform_kernel<at::CUDAGeneratorImpl*>(at::TensorIteratorBase&, double, double, at::CUDAGeneratorImpl*)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1})::{lambda(curandStatePhilox4_32_10*)#2}, at::native::templates::cuda::uniform_kernel<at::CUDAGeneratorImpl*>(at::TensorIteratorBase&, double, double, at::CUDAGeneratorImpl*)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1}>(at::TensorIteratorBase&, at::CUDAGeneratorImpl*, at::native::templates::cuda::uniform_and_transform<float, float, 4ul, at::CUDAGeneratorImpl*, at::native::templates::cuda::uniform_kernel<at::CUDAGeneratorImpl*>(at::TensorIteratorBase&, double, double, at::CUDAGeneratorImpl*)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1}>(at::TensorIteratorBase&, at::CUDAGeneratorImpl*, at::native::templates::cuda::uniform_kernel<at::CUDAGeneratorImpl*>(at::TensorIteratorBase&, double, double, at::CUDAGeneratorImpl*)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1})::{lambda(curandStatePhilox4_32_10*)#2} const&, at::native::templates::cuda::uniform_kernel<at::CUDAGeneratorImpl*>(at::TensorIteratorBase&, double, double, at::CUDAGeneratorImpl*)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1})::{lambda(int, float)#1})',
     'Elementwise'),
    ('void at::native::vectorized_elementwise_kernel<4, at::native::(anonymous namespace)::where_kernel_impl(at::TensorIterator&)::{lambda()#1}::operator()() const::{lambda()#8}::operator()() const::{lambda(bool, long, long)#1}, at::detail::Array<char*, 4> >(int, at::native::(anonymous namespace)::where_kernel_impl(at::TensorIterator&)::{lambda()#1}::operator()() const::{lambda()#8}::operator()() const::{lambda(bool, long, long)#1}, at::detail::Array<char*, 4>)',
     'Elementwise'),
    ('void at::native::vectorized_elementwise_kernel<4, at::native::compare_scalar_kernel<float>(at::TensorIteratorBase&, at::native::(anonymous namespace)::OpType, float)::{lambda(float)#1}, at::detail::Array<char*, 2> >(int, at::native::compare_scalar_kernel<float>(at::TensorIteratorBase&, at::native::(anonymous namespace)::OpType, float)::{lambda(float)#1}, at::detail::Array<char*, 2>)',
     'Elementwise'),
    ('void at::native::vectorized_elementwise_kernel<4, at::native::nan_to_num_kernel_cuda(at::TensorIteratorBase&, c10::optional<double>, c10::optional<double>, c10::optional<double>)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2> >(int, at::native::nan_to_num_kernel_cuda(at::TensorIteratorBase&, c10::optional<double>, c10::optional<double>, c10::optional<double>)::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2>)',
     'Elementwise'),
    ('volta_sgemm_64x64_nt',
     'GEMM'),
    ('ampere_sgemm_128x64_nn',
     'GEMM'),
    ('volta_cgemm_32x32_tn',
     'GEMM'),
    ('void cutlass::Kernel<cutlass_80_tensorop_s1688gemm_256x64_16x4_tn_align1>(cutlass_80_tensorop_s1688gemm_256x64_16x4_tn_align1::Params)',
     'GEMM'),
    ('void cutlass::Kernel<cutlass_70_wmma_tensorop_f16_s161616gemm_f16_32x32_64x2_tn_align8>(cutlass_70_wmma_tensorop_f16_s161616gemm_f16_32x32_64x2_tn_align8::Params)',
     'GEMM'),
    ('void gemv2T_kernel_val<int, int, float, float, float, float, 128, 16, 4, 4, false, false, cublasGemvParams<cublasGemvTensorStridedBatched<float const>, cublasGemvTensorStridedBatched<float const>, cublasGemvTensorStridedBatched<float>, float> >(cublasGemvParams<cublasGemvTensorStridedBatched<float const>, cublasGemvTensorStridedBatched<float const>, cublasGemvTensorStridedBatched<float>, float>, float, float)',
     'GEMM'),
    ('std::enable_if<!(false), void>::type internal::gemvx::kernel<int, int, float, float, float, float, false, true, true, false, 7, cublasGemvParams<cublasGemvTensorStridedBatched<float const>, cublasGemvTensorStridedBatched<float const>, cublasGemvTensorStridedBatched<float>, float> >(cublasGemvParams<cublasGemvTensorStridedBatched<float const>, cublasGemvTensorStridedBatched<float const>, cublasGemvTensorStridedBatched<float>, float>)',
     'GEMM'),
    ('void gemmk1_kernel<float, 256, 5, false, false, false, false, cublasGemvTensorStridedBatched<float const>, cublasGemvTensorStridedBatched<float const>, cublasGemvTensorStridedBatched<float>, float, true, true>(cublasGemmk1Params<float, cublasGemvTensorStridedBatched<float const>, cublasGemvTensorStridedBatched<float const>, cublasGemvTensorStridedBatched<float>, float, biasType<cublasGemvTensorStridedBatched<float>::value_type, float>::type>)',
     'GEMM'),
    ('void splitKreduce_kernel<float, float, float, float, true, false, false>(cublasSplitKParams<float>, float const*, float const*, float*, float const*, float const*, float const*, float const*, float*, void*, long, float*, int*)',
     'GEMM'),
    ('void cublasLt::splitKreduce_kernel<32, 16, int, float, float, float, float, true, true, false>(cublasLt::cublasSplitKParams<float>, float const*, float const*, float*, float const*, float const*, float const*, float const*, float*, void*, long, float*, int*)',
     'GEMM'),
    ('void epilogue::impl::globalKernel<float, float, float, true, true>(int, int, long, float*, cublasLtEpilogue_t, int, float*, long, void*, long, long, long, float*, long, int*)',
     'GEMM'),
    ('void dot_kernel<float, 128, 0, cublasDotParams<cublasGemvTensorStridedBatched<float const>, cublasGemvTensorStridedBatched<float> > >(cublasDotParams<cublasGemvTensorStridedBatched<float const>, cublasGemvTensorStridedBatched<float> >)',
     'GEMM'),
    ('void magma_sgemmEx_kernel<float, float, float, true, false, 6, 4, 6, 3, 4>(int, int, int, Tensor, int, Tensor, int, Tensor, int, Tensor, int, int, int, float const*, float const*, float, float, int, cublasLtEpilogue_t, int, void const*, long)',
     'GEMM'),
    ('void transpose_readWrite_alignment_kernel<float2, float2, 1, false, 6, 4, 4>(cublasTransposeParams<float2>, float2 const*, float2*, float2 const*)',
     'GEMM'),
    ('Cijk_Alik_Bljk_SB_Bias_AS_SAV_UserArgs_MT64x16x32_MI16x16x1_SN_LDSB0_AFC1_AFEM1_AFEM1_ASEM1_CLR1_CADS0_EPS0_GRVWA2_GRVWB2_GSUAMB_ISA90a_IU1_K1_LBSPPA128_LBSPPB128_LBSPPM0_LPA8_LPB8_LPM0_LRVW4_LWPMn1_MIAV0_MIWT1_1_MO40_NTn1_NTA0_NTB0_NTC0_NTD0_NTM0_NEPBS2_NLCA1_NLCB1_ONLL1_PGR2_PLR1_PKA1_SIA3_SS1_SPO1_SRVW0_SSO0_SVW1_TLDS1_USFGROn1_VSn1_VWA1_VWB1_WSGRA1_WSGRB1_WS64_WG64_4_1',
     'GEMM'),
    ('ncclKernel_AllReduce_RING_LL_Sum_float(ncclWorkElem)',
     'Communication'),
    ('ncclKernel_SendRecv_RING_SIMPLE_Sum_int8_t(ncclDevComm*, unsigned long, ncclWork*)',
     'Communication'),
    ('ncclKernel_Broadcast_RING_LL_Sum_int8_t(ncclDevComm*, unsigned long, ncclWork*)',
     'Communication'),
    ('Memcpy HtoD (Pageable -> Device)',
     'Memory'),
    ('Memcpy DtoH (Device -> Pageable)',
     'Memory'),
    ('Memcpy DtoD (Device -> Device)',
     'Memory'),
    ('Memset (Device)',
     'Memory'),
    ('void split_embedding_backward_codegen_rowwise_adagrad_unweighted_kernel_cta_per_row_1<c10::Half, float, c10::Half, 2ul, 32>(at::GenericPackedTensorAccessor<float, 2ul, at::RestrictPtrTraits, long>, at::GenericPackedTensorAccessor<c10::Half, 1ul, at::RestrictPtrTraits, long>, at::GenericPackedTensorAccessor<c10::Half, 1ul, at::RestrictPtrTraits, long>, at::GenericPackedTensorAccessor<c10::Half, 2ul, at::RestrictPtrTraits, long>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<long, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<long, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<long, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, bool, at::PhiloxCudaState, fbgemm_gpu::FixedDivisor, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<at::AccumulateType<c10::Half, true>::type, 2ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, int, bool, at::GenericPackedTensorAccessor<at::AccumulateType<c10::Half, true>::type, 1ul, at::RestrictPtrTraits, long>, at::GenericPackedTensorAccessor<at::AccumulateType<c10::Half, true>::type, 1ul, at::RestrictPtrTraits, long>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<long, 1ul, at::RestrictPtrTraits, int>, float, float, float, long)',
     'Embedding'),
    ('void split_embedding_codegen_forward_unweighted_kernel<c10::Half, c10::Half, float, false, long, 2ul, 32ul>(at::GenericPackedTensorAccessor<c10::Half, 1ul, at::RestrictPtrTraits, long>, at::GenericPackedTensorAccessor<c10::Half, 1ul, at::RestrictPtrTraits, long>, at::GenericPackedTensorAccessor<c10::Half, 2ul, at::RestrictPtrTraits, long>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<long, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, fbgemm_gpu::FixedDivisor, at::GenericPackedTensorAccessor<long, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<long, 1ul, at::RestrictPtrTraits, int>, long, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<float, 2ul, at::RestrictPtrTraits, long>)',
     'Embedding'),
    ('void bounds_check_indices_kernel<long, false>(at::GenericPackedTensorAccessor<long, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<long, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<long, 1ul, at::RestrictPtrTraits, int>, int const*, long, at::GenericPackedTensorAccessor<long, 1ul, at::RestrictPtrTraits, int>, fbgemm_gpu::FixedDivisor)',
     'Embedding'),
    ('void linearize_index_kernel<long>(at::GenericPackedTensorAccessor<long, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<long, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<long, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<long, 1ul, at::RestrictPtrTraits, int>)',
     'Embedding'),
    ('split_embedding_backward_codegen_find_long_segments(at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, at::GenericPackedTensorAccessor<int, 1ul, at::RestrictPtrTraits, int>, int, int, bool)',
     'Embedding'),
    ('void fbgemm_gpu::permute_2D_data_kernel<false, int, int, decltype(nullptr)>(int, int, int, int const*, decltype(nullptr) const*, int const*, int const*, int const*, int*, decltype(nullptr)*)',
     'Memory'),
    ('void fbgemm_gpu::_block_bucketize_sparse_features_cuda_kernel2<false, false, false, int, int, decltype(nullptr)>(int, int, int const*, int, int const*, int const*, decltype(nullptr) const*, int*, int*, decltype(nullptr)*, int*, int*)',
     'Memory'),
    ('void fbgemm_gpu::_offsets_range_cuda_kernel<int>(long, long, int const*, int*)',
     'Memory'),
    ('void permute_pooled_embs_kernel<float>(float const*, long const*, long const*, long const*, float*, long, long, long)',
     'Memory'),
    ('void recat_copy_async_kernel<float>(long const*, long const*, float const*, float*, long, long, long)',
     'Memory'),
    ('void fbgemm_gpu::(anonymous namespace)::_compute_FP8_quantize_cuda_kernel<float>(float const*, float const*, int, int, unsigned char*, bool)',
     'QDQ'),
    ('void fbgemm_gpu::(anonymous namespace)::_FP8rowwise_to_float_cuda_kernel<float>(unsigned char const*, int, int, float*, bool)',
     'QDQ'),
    ('void at::native::vectorized_elementwise_kernel<4, fbgemm_gpu::_hfp8_to_float_gpu(at::Tensor const&, long, long)::{lambda(unsigned char)#1}, at::detail::Array<char*, 2> >(int, fbgemm_gpu::_hfp8_to_float_gpu(at::Tensor const&, long, long)::{lambda(unsigned char)#1}, at::detail::Array<char*, 2>)',
     'QDQ'),
    ('void at::native::vectorized_elementwise_kernel<4, fbgemm_gpu::_float_to_hfp8_gpu(at::Tensor const&, long, long, double)::{lambda(float)#1}, at::detail::Array<char*, 2> >(int, fbgemm_gpu::_float_to_hfp8_gpu(at::Tensor const&, long, long, double)::{lambda(float)#1}, at::detail::Array<char*, 2>)',
     'QDQ'),
    ('void fbgemm_gpu::(anonymous namespace)::_get_FP8_qparam_cuda_kernel<float>(float const*, int, int, unsigned char*, float*, bool)',
     'QDQ'),
    ('void cudnn::ops::scalePackedTensor_kernel<float, float>(cudnnTensor4dStruct, float*, float)',
     'Elementwise'),
    ('triton__0d1d2d3d4d5d6d7d8d9d10d11d12d13d14',
     'Elementwise'),
    ('triton_poi_fused_add_cos_sin_0',
     'Elementwise'),
    ('volta_scudnn_128x128_stridedB_splitK_small_nn_v1',
     'Convolution'),
    ('volta_scudnn_128x64_relu_interior_nn_v1',
     'Convolution'),
    ('cudnn_infer_volta_scudnn_128x64_3dconv_fprop_medium_nn_v1',
     'Convolution'),
    ('cudnn_volta_scudnn_winograd_128x128_ldg1_ldg4_relu_tile148t_nt_v1',
     'Convolution'),
    ('sm80_xmma_wgrad_implicit_gemm_indexed_tf32f32_tf32f32_f32_nhwckrsc_nhwc_tilesize128x128x16_stage4_warpsize2x2x1_g1_tensor16x8x8_execute_kernel_cudnn_train',
     'Convolution'),
]
KERNELS_KINETO += [
    # MTIA per-op kernels and device events
    ("fc-dtype_Float", "GEMM"),
    ("batch_matmul-dtype_Float", "GEMM"),
    ("layer_norm_backward-dtype_Float", "Normalization"),
    ("native_layer_norm-dtype_Float", "Normalization"),
    ("vector_norm_float_order-dtype_Float", "Elementwise"),
    ("customized_fba_mul_const-dtype_Float", "Elementwise"),
    ("reduce_sum-dtype_Float", "Elementwise"),
    ("aten::mul.out-dtype_Float", "Elementwise"),
    ("aten::gt.Tensor_out-dtype_Bool", "Elementwise"),
    ("eq_kernel-dtype_Bool", "Elementwise"),
    ("neg-dtype_Float", "Elementwise"),
    ("aten::nan_to_num.out-dtype_Float", "Elementwise"),
    ("aten::sigmoid.out-dtype_Float", "Activation"),
    ("threshold_backward-dtype_Float", "Activation"),
    ("clip-dtype_Float", "Activation"),
    ("aten::cat.out-dtype_Float-extraKey_2", "Memory"),
    ("aten::index.Tensor_out-dtype_Double-extraKey_2", "Memory"),
    ("permute_2d_sparse_data-dtype_Int", "Memory"),
    ("offsets_range-dtype_Long", "Memory"),
    ("to_dense_representation-dtype_Float", "Memory"),
    ("split_eb_bwd_rowwise_adagrad-dtype_Half", "Embedding"),
    ("fbgemm::split_embedding_codegen_grad_indice_weights_cpu-dtype_Half", "Embedding"),
    ("bounds_check_indices-dtype_Long", "Embedding"),
    ("dma_request", "Memory"),
    ("merge", "Other"),
    ("remote", "Other"),
    ("pe_exe", "Other"),
]

# Real names from the Nsight Systems reports (nvFuser, H100) and TensorRT engine graphs.
KERNELS_NSYS_TRT = [
    ("nvjet_tst_192x192_64x4_2x1_v_bz_coopB_TNN", "GEMM"),
    ("nvjet_hsh_128x256_64x4_2x1_v_bz_coopA_NTN", "GEMM"),
    ("<unnamed>::nvfuser_pointwise_f0_c1_r0_g0(<unnamed>::Tensor<float, (int)2, (int)2>, "
     "<unnamed>::Tensor<float, (int)2, (int)2>)", "Elementwise"),
    ("<unnamed>::nvfuser_inner_persistent_f0_c1_r0_g2(<unnamed>::Tensor<float, (int)3, (int)3>, "
     "<unnamed>::Tensor<float, (int)2, (int)2>)", "Elementwise"),
    ("void at::native::vectorized_elementwise_kernel<(int)4, at::native::FillFunctor<float>, "
     "std::array<char *, (unsigned long)1>>(int, T2, T3)", "Memory"),
    ("void at::native::vectorized_elementwise_kernel<(int)8, at::native::bfloat16_copy_kernel_cuda("
     "at::TensorIteratorBase &)::[lambda(float) (instance 1)], std::array<char *, (unsigned long)2>>"
     "(int, T2, T3)", "Memory"),
    ("void at::native::vectorized_elementwise_kernel<(int)4, at::native::BinaryFunctor<bool, bool, "
     "bool, at::native::BitwiseOrFunctor<bool>>, std::array<char *, (unsigned long)3>>(int, T2, T3)",
     "Elementwise"),
    ("void at::native::reduce_kernel<(int)512, (int)1, at::native::ReduceOp<bool, at::native::"
     "func_wrapper_t<bool, at::native::and_kernel_cuda(at::TensorIterator &)::[lambda() (instance 1)]"
     "::operator ()() const::[lambda() (instance 12)]::operator ()() const::[lambda(bool, bool) "
     "(instance 1)]>, unsigned int, bool, (int)4>>(T3)", "Elementwise"),
    ("void at::native::<unnamed>::nll_loss_backward_reduce_cuda_kernel_2d<float, long>(T1 *, const T1 *, "
     "const T2 *, const T1 *, const T1 *, bool, int, int, long, long)", "Elementwise"),
    # TensorRT tactics (CaskConvolution / CaskPooling layers)
    ("sm80_xmma_fprop_implicit_gemm_interleaved_i8i8_i8i32_f32_nchw_vect_c_32kcrs_vect_c_32_nchw_"
     "vect_c_32_tilesize192x64x64_stage3_warpsize4x1x1_g1_tensor16x8x32_t1r3s3", "Convolution"),
    ("sm70_xmma_fprop_conv1x1_i8f32_f32_f32_nchw_vect_c_4kcrs_vect_c_4_nchw_simt_small_batch_bias_relu",
     "Convolution"),
    ("turing_fp16_i8816cudnn_int8_128x128_ldg16_relu_small_nt_v1", "Convolution"),
    ("ampere_h16816cudnn_128x64_sliced1x2_ldg8_relu_exp_stages_64x4_small_nhwc_tn_v1", "Convolution"),
    ("volta_int8x4_icudnn_int8x4_128x32_relu_xregs_medium_c32_nn_v1", "Convolution"),
    ("trt_turing_cutlass_image_network_first_layer_hmma_fprop_f16f16f32_nhwc_nhwc_k64r7s7c4_stride2x2",
     "Convolution"),
    ("sm50_xmma_pooling_fw_4d_FP16FP32NHWC_Average_FastDiv_CAlign8", "Pooling"),
]

# Families the corpus lacks, in the shape their libraries give them.
KERNELS_KNOWN_SHAPES = [
    # fused attention (before GEMM: built from cutlass)
    ("void pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<128, 128, 64, 4, false, false, "
     "cutlass::bfloat16_t, Flash_kernel_traits<128, 128, 64, 4, cutlass::bfloat16_t> >, false, true, "
     "false, false, true, true, false, false>(pytorch_flash::Flash_fwd_params)", "Attention"),
    ("fmha_cutlassF_f16_aligned_64x64_rf_sm80(PyTorchMemEffAttention::AttentionKernel<cutlass::half_t, "
     "cutlass::arch::Sm80, true, 64, 64, 64, true, true>::Params)", "Attention"),
    ("cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16_knob_3_64x64x128_4x1x1_kernel0_0",
     "Attention"),
    ("void cutlass::device_kernel<flash::enable_sm90_or_later<flash::FlashAttnFwdSm90<"
     "flash::CollectiveMainloopFwdSm90<2, cute::tuple<cute::C<1>, cute::C<1>, cute::C<1> > > > > >"
     "(flash::FlashAttnFwdSm90::Params)", "Attention"),
    # GEMM on Hopper / CUTLASS 3 / cuBLAS
    ("sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64_warpgroupsize1x1x1_execute_segment_"
     "k_off_kernel__5x_cublas", "GEMM"),
    ("void cutlass::device_kernel<cutlass::gemm::kernel::GemmUniversal<cute::tuple<int, int, int, int>, "
     "cutlass::gemm::collective::CollectiveMma<cutlass::gemm::MainloopSm90TmaGmmaWarpSpecialized<4, "
     "cute::tuple<cute::C<2>, cute::C<1>, cute::C<1> > > > > >(cutlass::gemm::kernel::GemmUniversal::"
     "Params)", "GEMM"),
    ("ampere_bf16_s16816gemm_bf16_128x128_ldg8_f2f_stages_64x3_tn", "GEMM"),
    # TorchInductor (triton_<poi|red|per|tem>_fused_<aten ops>_<n>)
    ("triton_tem_fused_mm_0", "GEMM"),
    ("triton_tem_fused_addmm_relu_3", "GEMM"),
    ("triton_tem_fused_convolution_1", "Convolution"),
    ("triton_tem_fused_flex_attention_0", "Attention"),
    ("triton_per_fused_native_layer_norm_0", "Normalization"),
    ("triton_red_fused_add_native_layer_norm_native_layer_norm_backward_7", "Normalization"),
    ("triton_red_fused__to_copy_add_mean_mul_pow_rsqrt_2", "Normalization"),
    ("triton_poi_fused__native_batch_norm_legit_no_training_relu_4", "Normalization"),
    ("triton_red_fused__softmax_0", "Softmax"),
    ("triton_per_fused__log_softmax_backward_data_1", "Softmax"),
    ("triton_poi_fused_clone_0", "Memory"),
    ("triton_poi_fused__to_copy_cat_1", "Memory"),
    ("triton_poi_fused_embedding_0", "Embedding"),
    ("triton_poi_fused_gelu_0", "Activation"),
    ("triton_poi_fused_convolution_relu_2", "Activation"),
    ("triton_poi_fused_relu_threshold_backward_5", "Activation"),
    ("triton_poi_fused_max_pool2d_with_indices_3", "Pooling"),
    ("triton_poi_fused_add_mul_0", "Elementwise"),
    ("triton_red_fused_sum_1", "Elementwise"),
    ("triton_poi_fused_add_index_select_1", "Elementwise"),
    # at::native and torchvision kernels: long templated names, classified by the op they name
    ("void at::native::vectorized_elementwise_kernel<4, at::native::GeluCUDAKernelImpl("
     "at::TensorIteratorBase&, at::native::GeluType)::{lambda()#2}::operator()() const::{lambda()#3}"
     "::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2> >(int, at::native::"
     "GeluCUDAKernelImpl(at::TensorIteratorBase&, at::native::GeluType)::{lambda()#2}::operator()() "
     "const::{lambda()#3}::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2>)",
     "Activation"),
    ("void at::native::sbtopk::gatherTopK<float, unsigned int, 2, false>(at::cuda::detail::TensorInfo"
     "<float const, unsigned int>, unsigned int, unsigned int, bool, unsigned int, unsigned int, "
     "at::cuda::detail::TensorInfo<float, unsigned int>, unsigned int, at::cuda::detail::TensorInfo"
     "<long, unsigned int>, unsigned int, float*)", "Elementwise"),
    ("void at::native::(anonymous namespace)::upsample_bilinear2d_out_frame<float, float>(int, float, "
     "float, bool, at::GenericPackedTensorAccessor<float, 4ul, at::DefaultPtrTraits, long>, "
     "at::GenericPackedTensorAccessor<float, 4ul, at::DefaultPtrTraits, long>)", "Interpolation"),
    ("void vision::ops::(anonymous namespace)::roi_align_forward_kernel_impl<float>(int, float const*, "
     "float, int, int, int, int, int, int, bool, float const*, float*)", "RoI"),
    ("void vision::ops::(anonymous namespace)::nms_kernel_impl<float>(int, double, float const*, "
     "unsigned long long*)", "RoI"),
    ("void at::native::(anonymous namespace)::embedding_backward_feature_kernel<float, float, long>"
     "(long const*, float const*, float*, int, long, int)", "Embedding"),
    ("ncclDevKernel_AllGather_RING_LL(ncclDevComm*, unsigned long, ncclWork*)", "Communication"),
    # ROCm / MIOpen / Composable Kernel
    ("Cijk_Ailk_Bljk_HHS_BH_MT128x128x32_MI32x32x8x1_SN_1LDSB0_APM1_ABV0_ACED0_AF0EM1", "GEMM"),
    ("MIOpenConvUni", "Convolution"),
    ("naive_conv_fwd_nchw_float_double_float", "Convolution"),
    ("igemm_fwd_gtcx_nhwc_fp16_bx0_ex1_bt256x128x32_wt32x32x8_ws2x1_wr2x2_ta1x8x4x1_1x4x1x64_"
     "tb1x8x2x1_1x4x1x64", "Convolution"),
    ("MIOpenBatchNormFwdTrainSpatial", "Normalization"),
    # bitsandbytes: quantization kernels are QDQ, its 4-bit GEMM stays GEMM
    ("void kQuantizeBlockwise<__half, 4096, 4, 0, 0>(float*, __half*, float*, unsigned char*, float*, "
     "int, int)", "QDQ"),
    ("void kDequantizeBlockwise<__half, 512, 64, 8, 0>(float*, unsigned char*, float*, __half*, int, "
     "int)", "QDQ"),
    ("void kInt8VectorQuant<__half, 1024, 0>(__half*, signed char*, float*, float, int, int)", "QDQ"),
    ("void kgemm_4bit_inference_naive<__half, 128, 16>(int, int, int, __half*, unsigned char*, float*, "
     "float const*, __half*, int, int, int, int)", "GEMM"),
]

KERNELS = KERNELS_KINETO + KERNELS_NSYS_TRT + KERNELS_KNOWN_SHAPES


@pytest.mark.parametrize("name, group", KERNELS, ids=[_id(n) for n, _ in KERNELS])
def test_kernel_rules(name, group):
    assert TX.classify("kernels", name) == group


@pytest.mark.parametrize("name", [
    # words inside template arguments must not decide the group
    "void at::native::unrolled_elementwise_kernel<at::native::CUDAFunctor_add<double>, at::detail::"
    "Array<char*, 3>, TrivialOffsetCalculator<2, unsigned int>, TrivialOffsetCalculator<1, unsigned "
    "int>, at::native::memory::LoadWithCast<2>, at::native::memory::StoreWithCast<1> >(int, "
    "at::native::CUDAFunctor_add<double>, at::detail::Array<char*, 3>, TrivialOffsetCalculator<2, "
    "unsigned int>, TrivialOffsetCalculator<1, unsigned int>, at::native::memory::LoadWithCast<2>, "
    "at::native::memory::StoreWithCast<1>)",
    "void multi_tensor_apply_kernel<TensorListMetadata<4>, AdamFunctor<float>, float, float, float, "
    "float, float, float, adamMode_t, float, int, int>(int, int volatile*, TensorListMetadata<4>, "
    "AdamFunctor<float>, float, float, float, float, float, float, adamMode_t, float, int, int)",
    "void cub::DeviceScanInitKernel<cub::ScanTileState<int, true> >(cub::ScanTileState<int, true>, int)",
], ids=_id)
def test_template_arguments_do_not_match(name):
    assert TX.classify("kernels", name) == "Elementwise"


def test_memcpy_names_are_memory_and_direction_makes_transfer():
    # by name a copy is Memory; apply.classify turns HtoD/DtoH copies into Transfer
    for name in ("Memcpy HtoD (Pageable -> Device)", "Memcpy DtoH (Device -> Pageable)",
                 "Memcpy DtoD (Device -> Device)", "Memset (Device)"):
        assert TX.classify("kernels", name) == "Memory"
    assert TX.classify("kernels", "Memcpy HtoD (Pageable -> Device)") != TRANSFER


# ----------------------------------------------------------------------------- ops
# Real op names from the Kineto corpus: forward ops, their backward ops, the autograd nodes
# and the "autograd::engine::evaluate_function:" wrappers around them all land together.
OPS_KINETO = [
    ("aten::conv2d", "Convolution"),
    ("aten::cudnn_convolution", "Convolution"),
    ("aten::convolution_backward", "Convolution"),
    ("aten::cudnn_convolution_backward_weight", "Convolution"),
    ("ConvolutionBackward0", "Convolution"),
    ("CudnnConvolutionBackward", "Convolution"),
    ("autograd::engine::evaluate_function: ConvolutionBackward0", "Convolution"),
    ("aten::mm", "GEMM"),
    ("aten::addmm", "GEMM"),
    ("aten::linear", "GEMM"),
    ("aten::bmm", "GEMM"),
    ("aten::tensordot", "GEMM"),
    ("AddmmBackward0", "GEMM"),
    ("AddmmBackward", "GEMM"),
    ("autograd::engine::evaluate_function: AddmmBackward0", "GEMM"),
    ("autograd::engine::evaluate_function: MmBackward0", "GEMM"),
    ("autograd::engine::evaluate_function: BmmBackward0", "GEMM"),
    ("aten::native_layer_norm", "Normalization"),
    ("aten::native_layer_norm_backward", "Normalization"),
    ("NativeLayerNormBackward0", "Normalization"),
    ("autograd::engine::evaluate_function: NativeLayerNormBackward0", "Normalization"),
    ("aten::cudnn_batch_norm", "Normalization"),
    ("aten::cudnn_batch_norm_backward", "Normalization"),
    ("CudnnBatchNormBackward0", "Normalization"),
    ("fb::rms_norm", "Normalization"),
    ("aten::relu_", "Activation"),
    ("aten::threshold_backward", "Activation"),
    ("ReluBackward0", "Activation"),
    ("autograd::engine::evaluate_function: ReluBackward0", "Activation"),
    ("aten::clamp_min_", "Activation"),
    ("ClampBackward1", "Activation"),
    ("aten::sigmoid_backward", "Activation"),
    ("autograd::engine::evaluate_function: TanhBackward0", "Activation"),
    ("aten::_log_softmax", "Softmax"),
    ("aten::_softmax_backward_data", "Softmax"),
    ("autograd::engine::evaluate_function: LogSoftmaxBackward0", "Softmax"),
    ("aten::max_pool2d_with_indices", "Pooling"),
    ("aten::max_pool2d_with_indices_backward", "Pooling"),
    ("MaxPool2DWithIndicesBackward0", "Pooling"),
    ("aten::adaptive_avg_pool2d", "Pooling"),
    ("aten::empty_strided", "Memory"),
    ("aten::copy_", "Memory"),
    ("aten::_to_copy", "Memory"),
    ("aten::resize_", "Memory"),
    ("aten::resize_as_", "Memory"),
    ("aten::cat", "Memory"),
    ("CatBackward0", "Memory"),
    ("autograd::engine::evaluate_function: TBackward0", "Memory"),
    ("UnsafeViewBackward0", "Memory"),
    ("aten::index_select", "Memory"),
    ("aten::gather", "Memory"),
    ("GatherBackward0", "Memory"),
    ("aten::stride", "Memory"),
    ("Optimizer.zero_grad#SGD.zero_grad", "Memory"),
    ("fbgemm::permute_2D_sparse_data", "Memory"),
    ("fbgemm::permute_pooled_embs_auto_grad", "Memory"),
    ("fbgemm::block_bucketize_sparse_features", "Memory"),
    ("fbgemm::recat_embedding_grad_output_mixed_D_batch", "Memory"),
    ("torch::autograd::CppNode<fbgemm_gpu::PermuteMultiEmbeddingOp>", "Memory"),
    ("aten::add_", "Elementwise"),
    ("aten::mul", "Elementwise"),
    ("AddBackward0", "Elementwise"),
    ("autograd::engine::evaluate_function: MulBackward0", "Elementwise"),
    ("aten::linalg_vector_norm", "Elementwise"),
    ("aten::nll_loss_backward", "Elementwise"),
    ("NllLossBackward0", "Elementwise"),
    ("autograd::engine::evaluate_function: BinaryCrossEntropyWithLogitsBackward0", "Elementwise"),
    ("aten::cross_entropy_loss", "Elementwise"),
    ("aten::_foreach_add_", "Elementwise"),
    ("Optimizer.step#SGD.step", "Elementwise"),
    ("torch::autograd::AccumulateGrad", "Elementwise"),
    ("autograd::engine::evaluate_function: torch::autograd::AccumulateGrad", "Elementwise"),
    ("torch::distributed::reducer::mul_out", "Elementwise"),
    ("fbgemm::asynchronous_complete_cumsum", "Elementwise"),
    ("aten::uniform_", "Elementwise"),
    ("fbgemm::split_embedding_codegen_lookup_rowwise_adagrad_function", "Embedding"),
    ("fbgemm::split_embedding_backward_codegen_rowwise_adagrad_cpu", "Embedding"),
    ("fbgemm::bounds_check_indices", "Embedding"),
    ("torch::autograd::CppNode<SplitLookupFunction_rowwise_adagrad_Op>", "Embedding"),
    ("fbgemm::FloatToFP8RowwiseQuantized", "QDQ"),
    ("fbgemm::HFP8QuantizedToFloat", "QDQ"),
    ("record_param_comms", "Communication"),
    ("c10d::allreduce_", "Communication"),
    ("nccl:all_reduce", "Communication"),
    ("All2All_Pooled_Req", "Communication"),
    ("autograd::engine::evaluate_function: All2All_Pooled_WaitBackward", "Communication"),
    ("ReduceScatterBase_Wait", "Communication"),
    ("aten::pin_memory", "Transfer"),
    # left to the kernels (compiled regions) or to the caller
    ("CompiledFunction", ""),
    ("CompiledFunctionBackward", ""),
    ("enumerate(DataLoader)#_SingleProcessDataLoaderIter.__next__", ""),
    # torch.compile's per-kernel ops are named like their kernel: classified by kernel rules
    ("triton_poi_fused_add_cos_sin_0", "Elementwise"),
    ("triton_red_fused__to_copy_add_mean_mul_pow_rsqrt_0", "Normalization"),
]

# ONNX (Runtime) op types and TensorRT layer types.
OPS_ONNX_TRT = [
    ("Conv", "Convolution"), ("FusedConv", "Convolution"), ("QLinearConv", "Convolution"),
    ("MatMul", "GEMM"), ("Gemm", "GEMM"), ("FusedMatMul", "GEMM"), ("QLinearMatMul", "GEMM"),
    ("MatMulInteger", "GEMM"), ("MatMulNBits", "GEMM"),
    ("Attention", "Attention"), ("MultiHeadAttention", "Attention"),
    ("GroupQueryAttention", "Attention"),
    ("LayerNormalization", "Normalization"), ("SkipLayerNormalization", "Normalization"),
    ("SimplifiedLayerNormalization", "Normalization"), ("BatchNormalization", "Normalization"),
    ("Gelu", "Activation"), ("FastGelu", "Activation"), ("BiasGelu", "Activation"),
    ("Relu", "Activation"), ("Sigmoid", "Activation"), ("Clip", "Activation"),
    ("Softmax", "Softmax"), ("LogSoftmax", "Softmax"),
    ("Reshape", "Memory"), ("Transpose", "Memory"), ("Concat", "Memory"), ("Slice", "Memory"),
    ("Cast", "Memory"), ("Expand", "Memory"), ("Gather", "Memory"), ("GatherElements", "Memory"),
    ("Shape", "Memory"), ("Unsqueeze", "Memory"), ("ConstantOfShape", "Memory"),
    ("Where", "Elementwise"), ("Add", "Elementwise"), ("ReduceMean", "Elementwise"),
    ("TopK", "Elementwise"), ("Erf", "Activation"),
    ("Resize", "Interpolation"), ("Upsample", "Interpolation"),
    ("MaxPool", "Pooling"), ("GlobalAveragePool", "Pooling"),
    ("QuantizeLinear", "QDQ"), ("DequantizeLinear", "QDQ"), ("DynamicQuantizeLinear", "QDQ"),
    ("NonMaxSuppression", "RoI"), ("RoiAlign", "RoI"),
    ("MemcpyFromHost", "Transfer"), ("MemcpyToHost", "Transfer"),
    # TensorRT layer types (ILayer kinds and engine-graph LayerType values)
    ("Convolution", "Convolution"), ("CaskConvolution", "Convolution"),
    ("CudaDepthwiseConvolution", "Convolution"), ("FusedConvActConvolution", "Convolution"),
    ("ConvActPool", "Convolution"), ("Deconvolution", "Convolution"),
    ("FullyConnected", "GEMM"), ("MatrixMultiply", "GEMM"), ("CaskGemmMatrixMultiply", "GEMM"),
    ("Scale", "Elementwise"), ("ElementWise", "Elementwise"), ("PointWise", "Elementwise"),
    ("PointWiseV2", "Elementwise"), ("Reduce", "Elementwise"),
    ("Reformat", "Memory"), ("Shuffle", "Memory"), ("Concatenation", "Memory"),
    ("Identity", "Memory"), ("NoOp", "Memory"),
    ("Pooling", "Pooling"), ("CaskPooling", "Pooling"), ("TiledPooling", "Pooling"),
    ("CudaPooling", "Pooling"),
    ("Activation", "Activation"),
    ("Quantize", "QDQ"), ("Dequantize", "QDQ"),
]

# aten ops the corpus does not show, and the backward spellings of each group
OPS_ATEN = [
    ("aten::_scaled_dot_product_flash_attention", "Attention"),
    ("aten::_scaled_dot_product_efficient_attention_backward", "Attention"),
    ("autograd::engine::evaluate_function: ScaledDotProductFlashAttentionBackward0", "Attention"),
    ("aten::gelu", "Activation"),
    ("aten::gelu_backward", "Activation"),
    ("GeluBackward0", "Activation"),
    ("autograd::engine::evaluate_function: GeluBackward0", "Activation"),
    ("aten::hardtanh_", "Activation"),
    ("aten::silu_", "Activation"),
    ("aten::embedding", "Embedding"),
    ("aten::embedding_dense_backward", "Embedding"),
    ("autograd::engine::evaluate_function: EmbeddingBackward0", "Embedding"),
    ("aten::upsample_nearest2d", "Interpolation"),
    ("aten::upsample_bilinear2d_backward", "Interpolation"),
    ("autograd::engine::evaluate_function: UpsampleBilinear2DBackward0", "Interpolation"),
    ("aten::topk", "Elementwise"),
    ("aten::sort", "Elementwise"),
    ("torchvision::nms", "RoI"),
    ("torchvision::roi_align", "RoI"),
    ("aten::quantize_per_tensor", "QDQ"),
    ("aten::dequantize", "QDQ"),
    ("bitsandbytes::int8_vectorwise_quant", "QDQ"),
    ("bitsandbytes::int8_linear_matmul", "GEMM"),
    ("bitsandbytes::gemv_4bit", "GEMM"),
    ("aten::_native_batch_norm_legit_no_training", "Normalization"),
    ("aten::group_norm", "Normalization"),
    ("aten::native_dropout", "Elementwise"),
    ("autograd::engine::evaluate_function: NativeDropoutBackward0", "Elementwise"),
    ("_c10d_functional::all_gather_into_tensor", "Communication"),
]

OPS = OPS_KINETO + OPS_ONNX_TRT + OPS_ATEN


@pytest.mark.parametrize("name, group", OPS, ids=[_id(n) for n, _ in OPS])
def test_op_rules(name, group):
    assert TX.classify("ops", name) == group


def test_normalize_op():
    assert normalize_op("aten::native_layer_norm_") == "native_layer_norm"
    assert normalize_op("AddmmBackward0") == "addmm"
    assert normalize_op("aten::convolution_backward") == "convolution"


# ----------------------------------------------------------------------------- modules
MODULES = [
    ("LlamaRMSNorm", "Normalization"), ("nn.Module: LlamaRMSNorm_0", "Normalization"),
    ("T5LayerNorm", "Normalization"), ("LayerNorm", "Normalization"),
    ("BatchNorm2d", "Normalization"), ("GroupNorm", "Normalization"),
    ("FrozenBatchNorm2d", "Normalization"), ("transformer.ln_f", "Normalization"),
    ("NewGELUActivation", "Activation"), ("GELUActivation", "Activation"),
    ("nn.Module: GELU_3", "Activation"), ("SiLU", "Activation"), ("ReLU", "Activation"),
    ("ReLU6", "Activation"), ("Hardtanh", "Activation"),
    ("Softmax", "Softmax"), ("LogSoftmax", "Softmax"),
    ("Embedding", "Embedding"), ("nn.Module: Embedding_1", "Embedding"),
    ("EmbeddingBag", "Embedding"), ("BertEmbeddings", "Embedding"),
    ("EmbeddingBagCollection", "Embedding"), ("model.embed_tokens", "Embedding"),
    ("MaxPool2d", "Pooling"), ("AdaptiveAvgPool2d", "Pooling"),
    ("Upsample", "Interpolation"), ("UpsamplingBilinear2d", "Interpolation"),
    ("MultiScaleRoIAlign", "RoI"), ("RoIAlign", "RoI"),
    ("QuantStub", "QDQ"), ("DeQuantStub", "QDQ"), ("FakeQuantize", "QDQ"),
    ("ScaledDotProductAttention", "Attention"), ("FlashSelfAttention", "Attention"),
    ("LlamaRotaryEmbedding", "Elementwise"),
    # containers whose name mentions an operator hold more than that operator: not classified
    ("LlamaFlashAttention2", ""), ("LlamaAttention", ""), ("LlamaMLP", ""),
    ("LinearReLU", ""), ("ConvReLU2d", ""), ("Linear", ""), ("Conv2d", ""),
    ("## PooledEmbeddingsAwaitable wait() ##", ""), ("## EmbeddingBagCollectionAwaitable wait() ##", ""),
    ("Optimizer.step#SGD.step", ""), ("## forward ##", ""),
]


@pytest.mark.parametrize("name, group", MODULES, ids=[_id(n) for n, _ in MODULES])
def test_module_rules(name, group):
    assert TX.classify("modules", name) == group


def test_module_class():
    assert module_class("nn.Module: LlamaRMSNorm_0") == "LlamaRMSNorm"
    assert module_class("GELUActivation") == "GELUActivation"


# ------------------------------------------------------- one logical operator, one group
# The same operator, named by each framework (aten forward/backward, ONNX, TensorRT, module
# class, kernel), lands in one group. Includes the known disagreements of the header comment.
SAME_OPERATOR = {
    "resize / upsample -> Interpolation": ("Interpolation", [
        ("ops", "Resize"), ("ops", "Upsample"), ("ops", "aten::upsample_bilinear2d"),
        ("ops", "aten::upsample_nearest2d_backward"), ("ops", "UpsampleNearest2DBackward0"),
        ("modules", "Upsample"),
        ("kernels", "void at::native::(anonymous namespace)::upsample_nearest2d_out_frame<float, "
                    "float>(float const*, float*, unsigned long, unsigned long, unsigned long, "
                    "unsigned long, unsigned long, float, float)"),
        ("kernels", "triton_poi_fused__unsafe_index_add_upsample_bilinear2d_0")]),
    "clip / clamp -> Activation": ("Activation", [
        ("ops", "Clip"), ("ops", "aten::clamp"), ("ops", "aten::clamp_min_"), ("ops", "aten::hardtanh"),
        ("ops", "aten::relu6"), ("ops", "ClampBackward1"), ("ops", "HardtanhBackward0"),
        ("modules", "ReLU6"), ("modules", "Hardtanh"),
        ("kernels", "void at::native::vectorized_elementwise_kernel<4, at::native::(anonymous "
                    "namespace)::launch_clamp_scalar(at::TensorIteratorBase&, c10::Scalar, c10::Scalar, "
                    "at::native::detail::ClampLimits)::{lambda()#1}::operator()() const::{lambda()#7}::"
                    "operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2> >(int, at::native"
                    "::(anonymous namespace)::launch_clamp_scalar(at::TensorIteratorBase&, c10::Scalar, "
                    "c10::Scalar, at::native::detail::ClampLimits)::{lambda()#1}::operator()() const::"
                    "{lambda()#7}::operator()() const::{lambda(float)#1}, at::detail::Array<char*, 2>)"),
        ("kernels", "clip-dtype_Float"), ("kernels", "triton_poi_fused_clamp_0")]),
    "topk / sort -> Elementwise": ("Elementwise", [
        ("ops", "TopK"), ("ops", "aten::topk"), ("ops", "aten::sort"), ("ops", "aten::argsort"),
        ("ops", "TopkBackward0"),
        ("kernels", "void at::native::sbtopk::gatherTopK<float, unsigned int, 2, false>(at::cuda::"
                    "detail::TensorInfo<float const, unsigned int>, unsigned int, unsigned int, bool, "
                    "unsigned int, unsigned int, at::cuda::detail::TensorInfo<float, unsigned int>, "
                    "unsigned int, at::cuda::detail::TensorInfo<long, unsigned int>, unsigned int, "
                    "float*)"),
        ("kernels", "void at::native::bitonicSortKVInPlace<2, -1, 16, 16, float, long, "
                    "at::native::GTOp<float, true>, unsigned int>(at::cuda::detail::TensorInfo<float, "
                    "unsigned int>, unsigned int, unsigned int, unsigned int, at::cuda::detail::TensorInfo"
                    "<long, unsigned int>, unsigned int, at::native::GTOp<float, true>)")]),
    "gather / index -> Memory": ("Memory", [
        ("ops", "Gather"), ("ops", "GatherElements"), ("ops", "GatherND"), ("ops", "aten::gather"),
        ("ops", "aten::index_select"), ("ops", "aten::index"), ("ops", "IndexSelectBackward0"),
        ("kernels", "void at::native::(anonymous namespace)::indexSelectLargeIndex<float, long, "
                    "unsigned int, 2, 2, -2, true>(at::cuda::detail::TensorInfo<float, unsigned int>, "
                    "at::cuda::detail::TensorInfo<float const, unsigned int>, at::cuda::detail::"
                    "TensorInfo<long const, unsigned int>, int, int, unsigned int, unsigned int, long)")]),
    "embedding -> Embedding": ("Embedding", [
        ("ops", "aten::embedding"), ("ops", "aten::embedding_backward"),
        ("ops", "aten::embedding_dense_backward"), ("ops", "EmbeddingBackward0"),
        ("ops", "aten::embedding_bag"), ("modules", "Embedding"), ("modules", "EmbeddingBag"),
        ("kernels", "triton_poi_fused_embedding_0")]),
    "quantize / dequantize -> QDQ": ("QDQ", [
        ("ops", "QuantizeLinear"), ("ops", "DequantizeLinear"), ("ops", "aten::quantize_per_tensor"),
        ("ops", "aten::quantize_per_channel"), ("ops", "aten::dequantize"),
        ("ops", "aten::fake_quantize_per_tensor_affine"), ("ops", "Quantize"), ("ops", "Dequantize"),
        ("ops", "bitsandbytes::int8_vectorwise_quant"), ("ops", "bitsandbytes::dequantize_4bit"),
        ("modules", "QuantStub"), ("modules", "DeQuantize"),
        ("kernels", "void kQuantizeBlockwise<__half, 4096, 4, 0, 0>(float*, __half*, float*, "
                    "unsigned char*, float*, int, int)"),
        ("kernels", "void kDequantizeBlockwise<__half, 512, 64, 8, 0>(float*, unsigned char*, float*, "
                    "__half*, int, int)"),
        ("kernels", "void kInt8VectorQuant<__half, 1024, 0>(__half*, signed char*, float*, float, int, "
                    "int)")]),
    "int8 / 4-bit matmul -> GEMM": ("GEMM", [
        ("ops", "QLinearMatMul"), ("ops", "MatMulInteger"), ("ops", "aten::_int_mm"),
        ("ops", "bitsandbytes::int8_linear_matmul"), ("ops", "quantized::linear"),
        ("kernels", "void kgemm_4bit_inference_naive<__half, 128, 16>(int, int, int, __half*, "
                    "unsigned char*, float*, float const*, __half*, int, int, int, int)"),
        ("kernels", "sm80_xmma_gemm_i8i8_i8i32_f32_tn_n_tilesize128x128x64_stage3_warpsize2x2x1_"
                    "tensor16x8x32_execute_kernel_trt")]),
    "matmul / linear -> GEMM": ("GEMM", [
        ("ops", "MatMul"), ("ops", "Gemm"), ("ops", "FullyConnected"), ("ops", "MatrixMultiply"),
        ("ops", "aten::addmm"), ("ops", "aten::linear"), ("ops", "AddmmBackward0"),
        ("ops", "autograd::engine::evaluate_function: AddmmBackward0"),
        ("kernels", "volta_sgemm_128x64_nn"), ("kernels", "nvjet_tst_192x192_64x4_2x1_v_bz_coopB_TNN"),
        ("kernels", "triton_tem_fused_mm_0"), ("kernels", "fc-dtype_Float")]),
    "convolution -> Convolution": ("Convolution", [
        ("ops", "Conv"), ("ops", "Convolution"), ("ops", "CaskConvolution"), ("ops", "aten::conv2d"),
        ("ops", "aten::convolution_backward"), ("ops", "ConvolutionBackward0"),
        ("ops", "autograd::engine::evaluate_function: ConvolutionBackward0"),
        ("kernels", "volta_scudnn_128x64_relu_interior_nn_v1"),
        ("kernels", "sm80_xmma_fprop_implicit_gemm_indexed_tf32f32_tf32f32_f32_nhwckrsc_nchw_"
                    "tilesize128x128x16_stage4_warpsize2x2x1_g1_tensor16x8x8_alignc4_execute_kernel_cudnn"),
        ("kernels", "triton_tem_fused_convolution_1")]),
    "layer / rms norm -> Normalization": ("Normalization", [
        ("ops", "LayerNormalization"), ("ops", "SkipLayerNormalization"),
        ("ops", "aten::native_layer_norm"), ("ops", "aten::native_layer_norm_backward"),
        ("ops", "NativeLayerNormBackward0"), ("ops", "aten::rms_norm"),
        ("modules", "LlamaRMSNorm"), ("modules", "T5LayerNorm"), ("modules", "LayerNorm"),
        ("kernels", "triton_per_fused_native_layer_norm_0"),
        ("kernels", "triton_red_fused__to_copy_add_mean_mul_pow_rsqrt_2"),
        ("kernels", "void at::native::(anonymous namespace)::vectorized_layer_norm_kernel<float, "
                    "float>(int, float, float const*, float const*, float const*, float*, float*, "
                    "float*)")]),
    "gelu -> Activation": ("Activation", [
        ("ops", "Gelu"), ("ops", "FastGelu"), ("ops", "aten::gelu"), ("ops", "aten::gelu_backward"),
        ("ops", "GeluBackward0"), ("modules", "NewGELUActivation"), ("modules", "GELUActivation"),
        ("kernels", "triton_poi_fused_gelu_0")]),
    "softmax -> Softmax": ("Softmax", [
        ("ops", "Softmax"), ("ops", "aten::_softmax"), ("ops", "aten::_softmax_backward_data"),
        ("ops", "SoftmaxBackward0"), ("modules", "Softmax"),
        ("kernels", "triton_red_fused__softmax_0"),
        ("kernels", "void (anonymous namespace)::softmax_warp_forward<float, float, float, 10, true>"
                    "(float*, float const*, int, int, int)")]),
    "pooling -> Pooling": ("Pooling", [
        ("ops", "MaxPool"), ("ops", "GlobalAveragePool"), ("ops", "Pooling"),
        ("ops", "aten::max_pool2d"), ("ops", "aten::adaptive_avg_pool2d"),
        ("ops", "MaxPool2DWithIndicesBackward0"), ("modules", "MaxPool2d"),
        ("modules", "AdaptiveAvgPool2d"),
        ("kernels", "sm50_xmma_pooling_fw_4d_FP16FP32NHWC_Average_FastDiv_CAlign8")]),
    "reshape / transpose / concat / cast -> Memory": ("Memory", [
        ("ops", "Reshape"), ("ops", "Transpose"), ("ops", "Concat"), ("ops", "Slice"),
        ("ops", "Cast"), ("ops", "Expand"), ("ops", "Shuffle"), ("ops", "Concatenation"),
        ("ops", "aten::reshape"), ("ops", "aten::cat"), ("ops", "aten::_to_copy"),
        ("ops", "CatBackward0"),
        ("kernels", "void at::native::(anonymous namespace)::CatArrayBatchedCopy<float, unsigned int, "
                    "2, 128, 1>(float*, at::native::(anonymous namespace)::CatArrInputTensorMetadata"
                    "<float, unsigned int, 128, 1>, at::native::(anonymous namespace)::TensorSizeStride"
                    "<unsigned int, 4u>, int, unsigned int)"),
        ("kernels", "triton_poi_fused__to_copy_cat_1")]),
    "where -> Elementwise": ("Elementwise", [
        ("ops", "Where"), ("ops", "aten::where"), ("ops", "WhereBackward0"),
        ("kernels", "aten::where-dtype_Float")]),
}


@pytest.mark.parametrize("label", list(SAME_OPERATOR))
def test_same_operator_same_group(label):
    group, names = SAME_OPERATOR[label]
    got = {(kind, name): TX.classify(kind, name) for kind, name in names}
    wrong = {k: v for k, v in got.items() if v != group}
    assert not wrong, f"{label}: expected {group}, got {wrong}"


def test_default_groups_and_gemm_flags():
    order = TX.group_order()
    assert order[:3] == ["GEMM", "Convolution", "Attention"]
    assert all(TX.is_gemm(g) for g in order[:3])
    for g in ("Normalization", "Activation", "Softmax", "Elementwise", "Memory", "Embedding",
              "Interpolation", "Pooling", "RoI", "QDQ", "Communication", TRANSFER, OTHER,
              UNATTRIBUTED):
        assert g in order
    # every rule names a declared group
    assert {r.group for r in TX.rules} <= set(TX.groups)


# ----------------------------------------------------------------------------- corpus
def _kineto_files() -> list[Path]:
    if not KINETO.is_dir():
        return []
    return sorted(p for p in KINETO.iterdir()
                  if p.name.endswith((".json", ".json.gz", ".tar.gz")))


def _load_all(path: Path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tracekit.load_all(path, cache=False, **kw)


@pytest.fixture(scope="module")
def resnet_path() -> Path:
    path = KINETO / RESNET
    if not path.is_file():
        pytest.skip(f"corpus trace not found: {path}")
    return path


@pytest.fixture(scope="module")
def resnet(resnet_path):
    (trace,) = _load_all(resnet_path)
    return trace


@pytest.fixture(scope="module")
def corpus_kernel_time() -> dict[str, int]:
    """Total device time (ns) per kernel name over every Kineto trace of the corpus."""
    files = _kineto_files()
    if not files:
        pytest.skip(f"corpus not found at {KINETO}")
    total: dict[str, int] = {}
    for path in files:
        try:
            traces = _load_all(path)
        except TraceError:
            continue  # the Execution Trace (..._et.json.gz) is not a Kineto trace
        for trace in traces:
            k = trace.kernels
            sums = k.groupby(k["name"].astype(str), observed=True)["dur_ns"].sum()
            for name, ns in sums.items():
                total[name] = total.get(name, 0) + int(ns)
    return total


def test_resnet_time_is_attributed(resnet):
    """Less than 1% of the resnet trace's GPU time is Other or Unattributed."""
    k = resnet.kernels
    assert len(k) > 1000
    total = k["dur_ns"].sum()
    vague = k.loc[k["group"].isin([OTHER, UNATTRIBUTED]), "dur_ns"].sum()
    assert vague / total < 0.01
    # and its time is where a resnet's time goes
    by_group = k.groupby(k["group"].astype(str), observed=True)["dur_ns"].sum() / total
    assert by_group.idxmax() == "Convolution"
    assert by_group["Normalization"] > 0.05


def test_no_big_kernel_without_rule(corpus_kernel_time):
    """No kernel name covering >0.5% of the corpus's GPU time lacks a kernel rule, and the
    names without one cover a negligible share."""
    total = sum(corpus_kernel_time.values())
    missing = {n: ns / total for n, ns in corpus_kernel_time.items()
               if TX.classify("kernels", n) == ""}
    big = {n: round(share * 100, 3) for n, share in missing.items() if share > 0.005}
    assert not big, f"kernel names without a rule (% of corpus GPU time): {big}"
    assert sum(missing.values()) < 0.001


def test_corpus_top_kernels_groups(corpus_kernel_time):
    """The biggest kernels of the corpus (by total time) get the groups checked by hand."""
    total = sum(corpus_kernel_time.values())
    top = sorted(corpus_kernel_time, key=corpus_kernel_time.get, reverse=True)
    covered, seen = 0.0, []
    for name in top:
        seen.append(name)
        covered += corpus_kernel_time[name] / total
        if covered >= 0.98:
            break
    expected = dict(KERNELS)
    checked = [n for n in seen if n in expected]
    assert checked, "the hand-checked table no longer meets the corpus"
    for name in checked:
        assert TX.classify("kernels", name) == expected[name], name


# ------------------------------------------------------- precedence (apply.classify)
def _rule_group(tax: Taxonomy, kind: str, names) -> np.ndarray:
    return np.array(tax.classify_many(kind, names), dtype=object)


def test_every_kernel_gets_a_group(resnet):
    k, o = resnet.kernels, resnet.ops
    order = resnet.meta["group_order"]
    assert k["group"].notna().all() and o["group"].notna().all()
    assert set(k["group"].astype(str)) <= set(order)
    assert (k["is_gemm"] == k["group"].isin(["GEMM", "Convolution", "Attention"])).all()


def test_kernels_take_their_ops_group(resnet):
    """module > op > kernel name: an attributed kernel takes its op's group; host<->device
    copies are Transfer whatever launched them."""
    k, o = resnet.kernels, resnet.ops
    attributed = k["op"].to_numpy() >= 0
    assert attributed.mean() > 0.9
    host_copy = k["copy"].isin(["HtoD", "DtoH"]).to_numpy()
    assert (k.loc[host_copy, "group"] == TRANSFER).all()
    assert host_copy.any()
    op_group = o["group"].astype(str).to_numpy()
    kernel_group = k["group"].astype(str).to_numpy()
    by_name = _rule_group(TX, "kernels", k["name"].astype(str))
    k_op = k["op"].to_numpy()
    sel = attributed & ~host_copy
    their_op = op_group[k_op[sel]]
    # an op with a group (its own rule, its caller's or its module's) decides ...
    decided = their_op != OTHER
    assert decided.mean() > 0.99
    assert (kernel_group[sel][decided] == their_op[decided]).all()
    # ... an unclassified op leaves it to the kernel name
    undecided = kernel_group[sel][~decided]
    fallback = np.where(by_name[sel][~decided] != "", by_name[sel][~decided], OTHER)
    assert (undecided == fallback).all()
    # kernels without an op: the kernel name, else Unattributed
    alone = ~attributed & ~host_copy
    assert (kernel_group[alone] == np.where(by_name[alone] != "", by_name[alone], UNATTRIBUTED)).all()
    # the op decides even where the kernel name would say otherwise: cuDNN's FFT/winograd
    # helpers and cuBLAS gemms launched by aten::cudnn_convolution are Convolution
    conv_op = op_group[k_op[sel]] == "Convolution"
    assert (by_name[sel][conv_op] == "GEMM").any()
    assert (kernel_group[sel][conv_op] == "Convolution").all()


def test_unclassified_ops_leave_it_to_the_kernel_name(resnet_path, tmp_path):
    """With no op rules at all, an attributed kernel gets its kernel-name rule (or Other)
    and a kernel without an op gets its rule (or Unattributed)."""
    path = tmp_path / "kernels_only.toml"
    path.write_text(
        "replace = true\n"
        "[groups]\nGEMM = { gemm = true }\nConvolution = { gemm = true }\nOther = {}\n"
        "Unattributed = {}\n"
        "[[kernels]]\ngroup = 'Convolution'\nmatch = ['conv', 'cudnn', 'winograd', 'wgrad', 'dgrad']\n"
        "[[kernels]]\ngroup = 'GEMM'\nmatch = ['gemm']\n",
        encoding="utf-8")
    tax = Taxonomy.from_file(path)
    (trace,) = _load_all(resnet_path, taxonomy=tax)
    k = trace.kernels
    by_name = _rule_group(tax, "kernels", k["name"].astype(str))
    has_op = k["op"].to_numpy() >= 0
    host_copy = k["copy"].isin(["HtoD", "DtoH"]).to_numpy()
    expected = np.where(by_name != "", by_name, np.where(has_op, OTHER, UNATTRIBUTED))
    expected = np.where(host_copy, TRANSFER, expected)
    assert (k["group"].astype(str).to_numpy() == expected).all()
    assert (o_group := trace.ops["group"].astype(str)).eq(OTHER).all(), set(o_group)
    assert set(k["group"].astype(str)) >= {"Convolution", "GEMM", OTHER}


def test_module_beats_op(resnet_path, tmp_path):
    """A classified annotation (here the optimizer step) decides for every op and kernel
    inside it, over the ops' own rules."""
    path = tmp_path / "optimizer.toml"
    path.write_text(
        "[groups]\nOptimizer = { gemm = false }\n"
        "[[modules]]\ngroup = 'Optimizer'\nmatch = ['^Optimizer\\.step#']\n",
        encoding="utf-8")
    tax = Taxonomy.from_file(path)
    (trace,) = _load_all(resnet_path, taxonomy=tax)
    o, k = trace.ops, trace.kernels
    inside = (o["module_group"] == "Optimizer").to_numpy()
    assert inside.any()
    assert (o.loc[inside, "group"] == "Optimizer").all()
    # their own rules say otherwise (aten::_foreach_add_ is Elementwise)
    own = _rule_group(tax, "ops", o.loc[inside, "name"].astype(str))
    assert "Elementwise" in set(own)
    k_inside = inside[k["op"].to_numpy()] & (k["op"].to_numpy() >= 0)
    assert k_inside.any()
    assert (k.loc[k_inside, "group"] == "Optimizer").all()
    assert not k.loc[k["group"] == "Optimizer", "is_gemm"].any()


# ----------------------------------------------------------------------------- user files
def _write(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_file_adds_a_group_and_overrides_a_rule(tmp_path):
    path = _write(tmp_path, """
[groups]
Optimizer = { gemm = false }
LowRank = { gemm = true }

[[ops]]
group = "Optimizer"
match = ['^optimizer\\.step', '^_?foreach_', '^_?fused_adam']

[[ops]]
group = "Elementwise"
note = "count ReLU backward as plain elementwise work"
names = ["threshold_backward"]

[[kernels]]
group = "LowRank"
match = ['^lora_']
""")
    tax = Taxonomy.from_file(path)
    assert tax.sources[0] == str(path) and "default" in tax.sources
    # added groups, with their GEMM flag, after the defaults
    order = tax.group_order()
    assert order[:len(TX.groups)] == list(TX.groups)
    assert "Optimizer" in order and "LowRank" in order
    assert tax.is_gemm("LowRank") and not tax.is_gemm("Optimizer")
    # the user's rules come first
    assert tax.classify("ops", "Optimizer.step#SGD.step") == "Optimizer"
    assert tax.classify("ops", "aten::_foreach_add_") == "Optimizer"
    assert tax.classify("ops", "aten::threshold_backward") == "Elementwise"
    assert tax.classify("kernels", "lora_a_kernel") == "LowRank"
    # the defaults still apply to everything else, and are not changed
    assert tax.classify("ops", "aten::relu") == "Activation"
    assert tax.classify("ops", "aten::mm") == "GEMM"
    assert TX.classify("ops", "aten::threshold_backward") == "Activation"
    assert TX.classify("ops", "Optimizer.step#SGD.step") == "Elementwise"


def test_user_file_through_load(resnet_path, tmp_path):
    path = _write(tmp_path, """
[[ops]]
group = "Elementwise"
names = ["threshold_backward"]
""")
    (trace,) = _load_all(resnet_path, taxonomy=str(path))
    o = trace.ops
    tb = o["name"].astype(str) == "aten::threshold_backward"
    assert tb.any() and (o.loc[tb, "group"] == "Elementwise").all()
    assert str(path) in trace.meta["taxonomy"]


def test_replace_drops_the_defaults(tmp_path):
    path = _write(tmp_path, """
replace = true

[groups]
Matmul = { gemm = true }
Rest = { gemm = false }

[[ops]]
group = "Matmul"
names = ["mm", "addmm"]

[[kernels]]
group = "Matmul"
match = ['gemm']

[[kernels]]
group = "Rest"
match = ['.']
""")
    tax = Taxonomy.from_file(path)
    assert list(tax.groups) == ["Matmul", "Rest"]
    assert tax.group_order() == ["Matmul", "Rest", OTHER, UNATTRIBUTED]
    assert tax.sources == [str(path)]
    assert tax.classify("ops", "aten::addmm") == "Matmul"
    assert tax.classify("ops", "aten::relu") == ""
    assert tax.classify("modules", "LlamaRMSNorm") == ""
    assert tax.classify("kernels", "volta_sgemm_128x64_nn") == "Matmul"
    assert tax.classify("kernels", "volta_scudnn_128x64_relu_interior_nn_v1") == "Rest"
    assert tax.is_gemm("Matmul") and not tax.is_gemm("Rest")


@pytest.mark.parametrize("text, words", [
    ("[groups\nGEMM = {}\n", ["not valid TOML"]),
    ("[[ops]]\ngroup = 'NoSuchGroup'\nnames = ['mm']\n", ["unknown group", "NoSuchGroup", "ops[0]"]),
    ("[[kernels]]\ngroup = 'GEMM'\nmatch = ['(unclosed']\n", ["bad pattern", "kernels[0]"]),
    ("[[modules]]\nmatch = ['norm$']\n", ["needs a 'group'", "modules[0]"]),
    ("[[kernels]]\ngroup = 'GEMM'\nmatch = ['gemm']\n[[kernels]]\ngroup = 'Nope'\nmatch = ['x']\n",
     ["unknown group", "kernels[1]"]),
], ids=["bad-toml", "unknown-group", "bad-regex", "no-group", "second-rule"])
def test_bad_user_file(tmp_path, text, words):
    path = _write(tmp_path, text, name="broken_taxonomy.toml")
    with pytest.raises(TaxonomyError) as info:
        Taxonomy.from_file(path)
    message = str(info.value)
    assert "broken_taxonomy.toml" in message
    for word in words:
        assert word in message


def test_missing_user_file(tmp_path):
    path = tmp_path / "absent.toml"
    with pytest.raises(TaxonomyError, match="absent.toml"):
        Taxonomy.from_file(path)
    with pytest.raises(TaxonomyError, match="absent.toml"):
        tracekit.load(tmp_path / "whatever.json", taxonomy=str(path))


def test_taxonomy_error_is_a_value_error():
    assert issubclass(TaxonomyError, ValueError)


# ------------------------------------------------------- containers never override a GEMM
def _self_times(events) -> dict[str, int]:
    """Exclusive (self) time in µs per op name, from the raw cpu_op events: per thread,
    nested by time, each op's duration less its direct children's."""
    by_tid: dict = {}
    for e in events:
        if e.get("ph") == "X" and e.get("cat") == "cpu_op":
            by_tid.setdefault((e.get("pid"), e.get("tid")), []).append(e)
    out: dict[str, float] = {}
    for evs in by_tid.values():
        evs.sort(key=lambda e: (float(e["ts"]), -float(e["dur"])))
        stack: list = []
        for e in evs:
            start, end = float(e["ts"]), float(e["ts"]) + float(e["dur"])
            while stack and stack[-1][1] <= start:
                stack.pop()
            if stack:
                stack[-1][2][0] -= float(e["dur"])
            own = [float(e["dur"])]
            out_key = e["name"]
            stack.append((start, end, own, out_key))
            out[out_key] = out.get(out_key, 0.0)
        # second pass collects the remaining self time
    return out


@pytest.fixture(scope="module")
def resnet_tiny(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import argparse

    from tracekit.cli import collect as collect_cmd

    path = tmp_path_factory.mktemp("resnet-tiny") / "resnet50.json"
    parser = argparse.ArgumentParser()
    collect_cmd.add_arguments(parser)
    args = parser.parse_args(["torch", "--model", "resnet50", "--size", "tiny", "--image-size", "64",
                              "--steps", "2", "--warmup", "1", "-o", str(path)])
    assert collect_cmd.run(args) == 0
    return path


def _raw_self_us(path: Path) -> dict[str, float]:
    import json

    events = json.loads(path.read_text(encoding="utf-8"))["traceEvents"]
    ops = sorted((e for e in events if e.get("ph") == "X" and e.get("cat") == "cpu_op"),
                 key=lambda e: (e.get("pid"), e.get("tid"), float(e["ts"]), -float(e["dur"])))
    self_us: dict[str, float] = {}
    stack: list = []  # (thread, end, name, [self])
    for e in ops:
        thread, start = (e.get("pid"), e.get("tid")), float(e["ts"])
        while stack and (stack[-1][0] != thread or stack[-1][1] <= start):
            t, _, name, own = stack.pop()
            self_us[name] = self_us.get(name, 0.0) + own[0]
        if stack:
            stack[-1][3][0] -= float(e["dur"])
        stack.append((thread, start + float(e["dur"]), e["name"], [float(e["dur"])]))
    while stack:
        _, _, name, own = stack.pop()
        self_us[name] = self_us.get(name, 0.0) + own[0]
    return self_us


def test_resnet_stem_and_patch_convs_stay_convolution(resnet_tiny):
    """transformers' ResNet wraps its stem conv in ResNetEmbeddings: the conv (and the
    norm, relu and pool beside it) keep their own groups, so the GEMM-based share is the
    share of conv/linear/mm self time in the raw file (about two thirds), not a third."""
    trace = tracekit.load(str(resnet_tiny), cache=False)
    s = trace.summary(step="all")
    assert s["time_basis"] == "cpu_self"
    self_us = _raw_self_us(resnet_tiny)
    # aten's convolution entry points and kernels-in-C++ (_slow_conv2d_forward,
    # mkldnn_convolution, ...) and matrix products, by name in the raw file
    gemm_ops = [n for n in self_us if n.startswith("aten::") and (
        "conv" in n or n.split("::")[1] in {"linear", "addmm", "mm", "matmul", "bmm"})]
    expected = sum(self_us[n] for n in gemm_ops) / sum(self_us.values())
    got = s["gemm_ns"] / s["total_ns"]
    assert expected > 0.5
    assert abs(got - expected) < 0.03, (got, expected)
    assert s["groups"].get("Embedding", 0) / s["total_ns"] < 0.01
    o = trace.ops
    stem = o[o["module"].astype(str).str.contains("ResNetEmbeddings")]
    assert len(stem)
    own = set(stem["group"].astype(str))
    assert {"Convolution", "Normalization"} <= own and "Embedding" not in own, own


def _trace_with_module(tmp_path: Path, module: str, ops: list[str], name: str) -> Path:
    """A Kineto trace (documented Chrome format) with one module range holding ``ops``,
    each launching one kernel."""
    import json

    events = [{"ph": "X", "cat": "python_function", "name": f"nn.Module: {module}_0", "pid": 1,
               "tid": 1, "ts": 0, "dur": 100 * len(ops) + 10}]
    for i, op in enumerate(ops):
        ts = 5 + 100 * i
        events += [
            {"ph": "X", "cat": "cpu_op", "name": op, "pid": 1, "tid": 1, "ts": ts, "dur": 90,
             "args": {"External id": i + 1}},
            {"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "pid": 1, "tid": 1,
             "ts": ts + 1, "dur": 5, "args": {"correlation": 100 + i, "External id": i + 1}},
            {"ph": "X", "cat": "kernel", "name": f"kernel_{i}", "pid": 0, "tid": 7,
             "ts": 1000 + ts, "dur": 50, "args": {"correlation": 100 + i, "External id": i + 1,
                                                  "device": 0, "stream": 7}},
        ]
    path = tmp_path / name
    path.write_text(json.dumps({"traceEvents": events}), encoding="utf-8")
    return path


@pytest.mark.parametrize("module, ops, expected", [
    # a custom RMSNorm made of five aten ops stays one Normalization module
    ("LlamaRMSNorm", ["aten::to", "aten::pow", "aten::mean", "aten::rsqrt", "aten::mul"],
     ["Normalization"] * 5),
    # a conv inside an embeddings / upsample container keeps Convolution, and the container
    # (it holds a GEMM-based op) decides nothing for the others
    ("ViTPatchEmbeddings", ["aten::conv2d", "aten::flatten", "aten::transpose"],
     ["Convolution", "Memory", "Memory"]),
    ("Upsample2D", ["aten::upsample_nearest2d", "aten::conv2d"], ["Interpolation", "Convolution"]),
    # an all-reduce inside a vocabulary-parallel embedding stays Communication
    ("VocabParallelEmbedding", ["aten::embedding", "c10d::allreduce_"], ["Embedding", "Communication"]),
])
def test_module_rules_decide_only_for_non_gemm_ops(tmp_path, module, ops, expected):
    path = _trace_with_module(tmp_path, module, ops, f"{module}.json")
    trace = tracekit.load(str(path), cache=False)
    o = trace.ops[trace.ops["name"].astype(str).isin(ops)].sort_values("ts_ns")
    assert list(o["group"].astype(str)) == expected
    k = trace.kernels.sort_values("ts_ns")
    assert list(k["group"].astype(str)) == expected  # kernels follow their ops


@pytest.mark.parametrize("name, group", [
    ("Upsample", "Interpolation"), ("UpsamplingBilinear2d", "Interpolation"),
    ("UpsampleBlock", ""), ("InterpolateHelper", ""), ("RoIAlignHead", ""),
])
def test_module_rules_match_the_class_name_at_its_end(name, group):
    assert TX.classify("modules", name) == group


# ------------------------------------------------------- fused layer names
@pytest.mark.parametrize("name, group", [
    ("/conv1/Conv + /relu/Relu", "Convolution"),
    ("/layer1/layer1.0/relu/Relu + /layer1/layer1.0/conv1/Conv", "Convolution"),
    ("/fc/Gemm + /act/Relu", "GEMM"),
    ("/attn/MatMul_1 + /attn/Softmax", "GEMM"),
    ("/layer1/Add + /layer1/Relu", "Elementwise"),
    ("PWN(PWN(/a/Sigmoid, /a/Mul), /b/Add)", "Activation"),
    ("Reformatting CopyNode for Input Tensor 0 to /conv1/Conv + /relu/Relu", "Memory"),
    ("Reformatting CopyNode for Output Tensor 0 to /layer1/norm/BatchNormalization", "Memory"),
])
def test_fused_names_pick_the_gemm_member(name, group):
    assert TX.classify("ops", name) == group


def test_path_splitting_never_cuts_a_fused_list():
    from tracekit.taxonomy.apply import path_pieces

    # what encloses the fused list stays (the first member's own module path too); the
    # members' op names and the other members are no path components
    pieces = [p for p, _ in path_pieces("Engine.block./conv1/Conv + /relu/Relu")]
    assert pieces == ["Engine", "block", "conv1"]
    assert [p for p, _ in path_pieces("Reformatting CopyNode for Input Tensor 0 to /norm/Relu")] == []
    assert [p for p, _ in path_pieces("model.layers.0.norm")] == ["model", "layers", "0", "norm"]


def test_tensorrt_parser_uses_the_same_fused_rule():
    from parsers import tensorrt
    from tracekit.model.names import GEMM_OP_TYPES, main_member

    types = ["Relu", "Add", "Conv"]
    assert tensorrt.choose_op("", types) == ("Conv", 2) and main_member(types) == 2
    assert tensorrt.GEMM_ONNX is GEMM_OP_TYPES


# ------------------------------------------------------- kernel base names
@pytest.mark.parametrize("name, base", [
    ("void flashinfer::QuantizationSFLayout<(int)128, __nv_bfloat16>(int, float const*)", "QuantizationSFLayout"),
    ("void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>, "
     "at::detail::Array<char*, 1> >(int, at::native::FillFunctor<float>, at::detail::Array<char*, 1>)",
     "vectorized_elementwise_kernel<FillFunctor>"),
    ("void cutlass::Kernel2<cutlass_80_tensorop_s16816gemm_relu_bf16_64x64_32x6_tn_align8>"
     "(cutlass_80_tensorop_s16816gemm_relu_bf16_64x64_32x6_tn_align8::Params)",
     "cutlass::Kernel2<cutlass_80_tensorop_s16816gemm_relu_bf16_64x64_32x6_tn_align8>"),
    ("void tensorrt_llm::kernels::finalizeMoeRoutingKernel<cutlass::bfloat16_t, float, "
     "cutlass::bfloat16_t, (int)1>(cutlass::bfloat16_t const*, cutlass::bfloat16_t*)",
     "finalizeMoeRoutingKernel"),
    ("void moe::dev::routing::routingRenormalize::routingIndicesClusterKernel<moe::dev::routing::"
     "routingRenormalize::KernelParams<__nv_bfloat16, float, 8, true>>(moe::dev::routing::"
     "routingRenormalize::KernelParams<__nv_bfloat16, float, 8, true>)", "routingIndicesClusterKernel"),
    ("std::enable_if<!(false), void>::type internal::gemvx::kernel<int, int, float, float, float, "
     "float, false, true, true, false, 7, cublasGemvParams<cublasGemvTensorStridedBatched<float const>, "
     "cublasGemvTensorStridedBatched<float const>, cublasGemvTensorStridedBatched<float>, float> >"
     "(cublasGemvParams<cublasGemvTensorStridedBatched<float const> >)", "gemvx::kernel<cublasGemvParams>"),
    ("_ZN7ck_tile6kentryILi1ENS_12Rmsnorm2dFwdINS_27Rmsnorm2dFwdPipelineOnePassEEEEEvNT0_5KargsE",
     "ck_tile::kentry<Rmsnorm2dFwd>"),
    ("Memcpy HtoD (Pageable -> Device)", "Memcpy HtoD (Pageable -> Device)"),
    ("nvjet_tst_192x192_64x4_2x1_v_bz_coopB_TNN", "nvjet_tst_192x192_64x4_2x1_v_bz_coopB_TNN"),
])
def test_kernel_base_name(name, base):
    from tracekit.model.names import kernel_base_name

    assert kernel_base_name(name) == base


@pytest.mark.parametrize("name, group", [
    # template arguments no longer decide: a quantize kernel is no attention, an MoE
    # finalize no GEMM, MoE routing no normalization
    ("void flashinfer::QuantizationSFLayout<(int)128, __nv_bfloat16>(int, float const*)", "QDQ"),
    ("void tensorrt_llm::kernels::finalizeMoeRoutingKernel<cutlass::bfloat16_t, float, "
     "cutlass::bfloat16_t, (int)1>(cutlass::bfloat16_t const*, cutlass::bfloat16_t*)", "Elementwise"),
    ("void moe::dev::routing::routingRenormalize::routingIndicesClusterKernel<moe::dev::routing::"
     "routingRenormalize::KernelParams<__nv_bfloat16, float, 8, true>>(moe::dev::routing::"
     "routingRenormalize::KernelParams<__nv_bfloat16, float, 8, true>)", "Elementwise"),
    # kernel families of serving and training stacks (names as their sources spell them)
    ("void flash::flash_fwd_splitkv_kernel<Flash_fwd_kernel_traits<128, 64, 128, 4, false, false, "
     "cutlass::bfloat16_t>, false, false, false, false, true, false, false, false>(flash::Flash_fwd_params)", "Attention"),
    ("void flashinfer::BatchPrefillWithPagedKVCacheKernel<flashinfer::KernelTraits<>>(flashinfer::Params)", "Attention"),
    ("void flashinfer::BatchDecodeWithPagedKVCacheKernel<flashinfer::PosEncodingMode::kNone, 2u>(flashinfer::Params)", "Attention"),
    ("void flash::flash_fwd_splitkv_mla_kernel<Flash_fwd_kernel_traits_mla<576, 64, 64, 8, "
     "cutlass::bfloat16_t, 512>, true>(Flash_fwd_mla_params)", "Attention"),
    ("fmha_cutlassF_bf16_aligned_64x128_rf_sm80(AttentionKernel<cutlass::bfloat16_t, cutlass::arch::Sm80, true, 64, 128, 128, true, true>::Params)", "Attention"),
    ("sage_fwd", "Attention"),
    ("void qk_int_sv_f8_attn_kernel<128, 64, 64>(int8_t*)", "Attention"),
    ("_ZN7ck_tile6kentryILi1ENS_13FmhaFwdKernelINS_20BlockFmhaPipelineQRKSVSEEEEEvNT0_5KargsE", "Attention"),
    ("void aiter::paged_attention_ll4mi_QKV_mfma16_kernel<__hip_bfloat16, 16, 128>(int)", "Attention"),
    ("cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16_knob_3_64x64x128_4x1x1_kernel0_0", "Attention"),
    ("void mmha::masked_multihead_attention_kernel<unsigned short, 128, 4, 8>(Multihead_attention_params<unsigned short, false>)", "Attention"),
    ("void vllm::paged_attention_v2_kernel<unsigned short, unsigned short, 128, 16, 128, "
     "(vllm::Fp8KVCacheDataType)0, false, 512>(float*, float*, unsigned short*)", "Attention"),
    ("void vllm::paged_attention_v2_reduce_kernel<unsigned short, 128, 128, 512>(unsigned short*)", "Attention"),
    ("void vllm::reshape_and_cache_flash_kernel<__nv_bfloat16, __nv_bfloat16, "
     "(vllm::Fp8KVCacheDataType)0>(__nv_bfloat16 const*, __nv_bfloat16 const*)", "Memory"),
    ("void vllm::concat_and_cache_mla_kernel<__nv_bfloat16, __nv_bfloat16, (vllm::Fp8KVCacheDataType)0>(int)", "Memory"),
    ("void vllm::rotary_embedding_kernel<c10::BFloat16, true>(long const*, c10::BFloat16*)", "Elementwise"),
    ("void vllm::fused_add_rms_norm_kernel<c10::BFloat16, 8>(c10::BFloat16*, c10::BFloat16*, "
     "c10::BFloat16 const*, float, int, int)", "Normalization"),
    ("void vllm::act_and_mul_kernel<c10::BFloat16, &(c10::BFloat16 vllm::silu_kernel<c10::BFloat16>"
     "(c10::BFloat16 const&)), true>(c10::BFloat16*, c10::BFloat16 const*, int)", "Activation"),
    ("void vllm::moe::topkGatingSoftmax<8, 128, 4, 16, int>(float const*, bool const*, float*, int)", "Elementwise"),
    ("void vllm::moe::moe_align_block_size_kernel<int>(int const*, int*, int*, int*, int, int)", "Elementwise"),
    ("void marlin::Marlin<(vllm::ScalarType::Id)5, 256, 1, 8, 8, 8, true, 4, 8, false>(int4 const*)", "GEMM"),
    ("void cutlass::device_kernel<machete::MacheteKernelTemplate<cutlass::bfloat16_t>>(machete::Params)", "GEMM"),
    ("void gemm_half_q_half_gptq_4bit_kernel<true, 1>(__half const*, unsigned int const*)", "GEMM"),
    ("void cutlass::device_kernel<cutlass::gemm::kernel::GemmUniversal<cutlass_3x_scaled_mm_sm90>>(int)", "GEMM"),
    ("void deep_gemm::fp8_gemm_kernel<128u, 128u, 128u, 1u>(float*, int*)", "GEMM"),
    ("_matmul_ogs_NNT_bf16xbf16xmxfp4_16x128x256x1_swiglu", "GEMM"),
    ("Cijk_Alik_Bljk_BBS_BH_Bias_HA_S_SAV_UserArgs_MT32x32x256_MI16x16x1_SN_LDSB1", "GEMM"),
    ("void rocblas_gemvt_kernel<256, float>(int, int, float)", "GEMM"),
    ("MIOpenBatchNormFwdInferSpatialEst", "Normalization"),
    ("ncclDevKernel_ReduceScatter_Sum_bf16_RING_LL(ncclDevComm*, unsigned long, ncclWork*)", "Communication"),
    ("void vllm::cross_device_reduce_1stage<__nv_bfloat16, 8>(vllm::RankData*, vllm::RankSignals)", "Communication"),
    ("void c10d::symmetric_memory::one_shot_all_reduce_kernel<float, 8, 2>(float**, unsigned long)", "Communication"),
    ("void c10d::symmetric_memory::multimem_all_reduce_kernel<float, 8>(float*, unsigned long)", "Communication"),
    ("void vllm::scaled_fp8_quant_kernel<c10::BFloat16, c10::Float8_e4m3fn>(c10::Float8_e4m3fn*)", "QDQ"),
    ("_combined_routing_compute", "Elementwise"),
    ("_finalize_matmul_scatter_bf16", "Elementwise"),
])
def test_kernel_families(name, group):
    assert TX.classify("kernels", name) == group


def test_classify_cli_names_the_rule(capsys):
    import json

    from tracekit.cli import main as cli_main

    assert cli_main.main(["taxonomy", "--classify", "/conv1/Conv + /relu/Relu", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    op = row["rules"]["ops"]
    assert row["ops"] == op["group"] == "Convolution" and op["member"] == "/conv1/Conv"
    assert op["file"].endswith("default.toml")
    # the line named is the [[ops]] header of the rule that matched, in the real file
    text = (Path(tracekit.__file__).parent / "taxonomy" / "default.toml").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[op["line"] - 1].strip() == "[[ops]]"
    assert 'group = "Convolution"' in lines[op["line"]]


def test_packaged_patterns_all_compile():
    """The packaged rules compile their patterns on first use; each one must be valid."""
    import re

    from tracekit.taxonomy import Taxonomy

    patterns = [p.pattern for r in Taxonomy.default().rules for p in r.patterns]
    assert len(patterns) > 100
    for p in patterns:
        re.compile(p, re.IGNORECASE)
