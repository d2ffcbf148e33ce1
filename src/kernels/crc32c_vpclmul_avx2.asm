; CRC-32C by carry-less multiplication folding, VPCLMULQDQ on YMM (VEX, AVX2).
;
;   uint32_t as_crc32c_vpclmul_avx2(uint32_t crc, const uint8_t* p, size_t n)
;
; Same "extend" contract as Crc32cSse42 (kernels/crc32c.h): any n (0 ok, p may
; then be null), any alignment, reads exactly p[0..n). Needs AVX2 + VPCLMULQDQ
; (with the OS saving YMM state; DetectCpu checks XCR0) and SSE4.2.
;
; The same folding as crc32c_pclmul.asm (see there and docs/asm/crc32c.md), but
; each YMM register holds two independent 128-bit accumulators, so one
; vpclmulqdq does the work of two pclmulqdq:
;   n < 128: one crc32 stream.
;   else:    four 32-byte accumulators y0..y3 (eight 128-bit lanes) over the
;            first 128 bytes, state xored into the first 4; per 128 bytes each
;            fold forward by 1024 bits + next 32 bytes; fold y0..y2 into y3 (by
;            768, 512, 256 bits); remaining 32-byte blocks (fold by 256); the two
;            halves of y3 into one xmm (fold by 128); remaining 16-byte blocks;
;            crc32q of the folded 16 bytes from state 0; last n % 16 by crc32.
;
; System V AMD64: edi = crc, rsi = p, rdx = n, result in eax. Clobbers only
; rax, rdx, rsi, r8, r9, ymm0-ymm11, ymm15 and flags (all caller-saved); no
; stack use. vzeroupper before every return taken after YMM use. Loads: vmovdqu
; or VEX memory operands (no alignment needed) of bytes below p + n only.

default rel
%include "crc32c_consts.inc"

section .note.GNU-stack noalloc noexec nowrite progbits

section .text

; VFOLD_IN acc, k, tmp, offset:  acc = clmul(acc.lo, k.lo) ^ clmul(acc.hi, k.hi)
;                                      ^ load(rsi + offset)   (per 128-bit half)
%macro VFOLD_IN 4
        vpclmulqdq      %3, %1, %2, 0x00
        vpclmulqdq      %1, %1, %2, 0x11
        vpxor           %1, %1, [rsi + %4]
        vpxor           %1, %1, %3
%endmacro

; VFOLD acc, k, tmp:  acc = clmul(acc.lo, k.lo) ^ clmul(acc.hi, k.hi)
%macro VFOLD 3
        vpclmulqdq      %3, %1, %2, 0x00
        vpclmulqdq      %1, %1, %2, 0x11
        vpxor           %1, %1, %3
%endmacro

global as_crc32c_vpclmul_avx2:function (as_crc32c_vpclmul_avx2.end - as_crc32c_vpclmul_avx2)
align 32
as_crc32c_vpclmul_avx2:
        mov             eax, edi
        not             eax                     ; raw state (upper half of rax zero)
        cmp             rdx, 128
        jb              .tail                   ; no vector register touched

        vmovd           xmm8, eax               ; zeroes bits 32..255 of ymm8
        vpxor           ymm0, ymm8, [rsi]
        vmovdqu         ymm1, [rsi + 32]
        vmovdqu         ymm2, [rsi + 64]
        vmovdqu         ymm3, [rsi + 96]
        add             rsi, 128
        sub             rdx, 128
        vbroadcasti128  ymm15, [k_fold_1024]
        cmp             rdx, 128
        jb              .merge

align 16
.loop128:                                       ; 8 vpclmulqdq (ymm) per 128 bytes
        VFOLD_IN        ymm0, ymm15, ymm8, 0
        VFOLD_IN        ymm1, ymm15, ymm9, 32
        VFOLD_IN        ymm2, ymm15, ymm10, 64
        VFOLD_IN        ymm3, ymm15, ymm11, 96
        add             rsi, 128
        sub             rdx, 128
        cmp             rdx, 128
        jae             .loop128

.merge:                                         ; y3 ^= fold(y_i, (3 - i) * 256 bits)
        vbroadcasti128  ymm15, [k_fold_768]
        VFOLD           ymm0, ymm15, ymm8
        vbroadcasti128  ymm15, [k_fold_512]
        VFOLD           ymm1, ymm15, ymm9
        vbroadcasti128  ymm15, [k_fold_256]
        VFOLD           ymm2, ymm15, ymm10
        vpxor           ymm0, ymm0, ymm1
        vpxor           ymm2, ymm2, ymm3
        vpxor           ymm0, ymm0, ymm2        ; y0 = all folded (k_fold_256 in ymm15)

        cmp             rdx, 32
        jb              .halves
.loop32:
        VFOLD_IN        ymm0, ymm15, ymm8, 0
        add             rsi, 32
        sub             rdx, 32
        cmp             rdx, 32
        jae             .loop32

.halves:                                        ; x0 = fold(y0.low128, 128) ^ y0.high128
        vextracti128    xmm1, ymm0, 1
        vmovdqa         xmm15, [k_fold_128]
        VFOLD           xmm0, xmm15, xmm8
        vpxor           xmm0, xmm0, xmm1

        cmp             rdx, 16
        jb              .finish
        VFOLD_IN        xmm0, xmm15, xmm8, 0    ; at most one 16-byte block is left
        add             rsi, 16
        sub             rdx, 16

.finish:                                        ; CRC of the 16 folded bytes from 0
        vmovq           r8, xmm0
        vpextrq         r9, xmm0, 1
        vzeroupper
        xor             eax, eax
        crc32           rax, r8
        crc32           rax, r9

.tail:                                          ; eax = state; rdx < 128 bytes at rsi
        cmp             rdx, 8
        jb              .bytes
.qwords:
        crc32           rax, qword [rsi]
        add             rsi, 8
        sub             rdx, 8
        cmp             rdx, 8
        jae             .qwords
.bytes:
        test            rdx, rdx
        jz              .done
.byte_loop:
        crc32           eax, byte [rsi]
        inc             rsi
        dec             rdx
        jnz             .byte_loop
.done:
        not             eax
        ret
.end:
