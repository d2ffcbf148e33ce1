# FastCDC scan variants (kernels/fastcdc_simd.h), included at the end of this
# folder's CMakeLists.txt. Kept in its own file so the kernel table's build
# stays with its owner.
# fastcdc_scan_striped.cc is plain C++ (no ISA flags): it builds everywhere,
# also with AS_ENABLE_ASM=OFF.
target_sources(as_kernels PRIVATE ${CMAKE_CURRENT_LIST_DIR}/fastcdc_scan_striped.cc)
