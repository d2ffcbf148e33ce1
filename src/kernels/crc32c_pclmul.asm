; CRC-32C by carry-less multiplication folding, 128-bit PCLMULQDQ (SSE encoding).
;
;   uint32_t as_crc32c_pclmul(uint32_t crc, const uint8_t* p, size_t n)
;
; Same "extend" contract as Crc32cSse42 (kernels/crc32c.h): any n (0 ok, p may
; then be null), any alignment, reads exactly p[0..n). Needs SSE4.2 + PCLMULQDQ.
;
; Method: Intel, "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ
; Instruction" (2009), section on folding; written from the paper, no code
; copied. Constants: tools/kcheck/crc_constants.py -> crc32c_consts.inc, which
; also explains the bit conventions. Notes and numbers: docs/asm/crc32c.md.
;
;   n < 128: one crc32 stream (8 bytes per crc32q).
;   else:    eight 16-byte accumulators x0..x7 over the first 128 bytes (the
;            state xored into the first 4), then per 128 bytes each lane is
;            folded forward by 1024 bits and the next block xored in; the lanes
;            are folded together (x_i by (7 - i) * 128 bits); remaining 16-byte
;            blocks folded in one at a time; the 128 folded bits then go through
;            crc32q twice from state 0 (x is congruent to the message so far, so
;            its CRC is the message's); the last n % 16 bytes by crc32.
;
; System V AMD64: edi = crc, rsi = p, rdx = n, result in eax. Clobbers only
; rax, rdx, rsi, r8, r9, xmm0-xmm9, xmm15 and flags (all caller-saved); no
; stack use. All loads are movdqu of bytes below p + n; the constants are
; 16-byte aligned (movdqa).

default rel
%include "crc32c_consts.inc"

section .note.GNU-stack noalloc noexec nowrite progbits

section .text

; FOLD acc, k, tmp:  acc = clmul(acc.lo, k.lo) ^ clmul(acc.hi, k.hi)
%macro FOLD 3
        movdqa          %3, %1
        pclmulqdq       %1, %2, 0x00
        pclmulqdq       %3, %2, 0x11
        pxor            %1, %3
%endmacro

; FOLD_IN acc, k, tmp, tmp2, offset:  acc = fold(acc) ^ load(rsi + offset)
%macro FOLD_IN 5
        movdqu          %4, [rsi + %5]
        FOLD            %1, %2, %3
        pxor            %1, %4
%endmacro

global as_crc32c_pclmul:function (as_crc32c_pclmul.end - as_crc32c_pclmul)
align 32
as_crc32c_pclmul:
        mov             eax, edi
        not             eax                     ; raw state (upper half of rax zero)
        cmp             rdx, 128
        jb              .tail

        movd            xmm8, eax               ; state into bytes 0..3 of block 0
        movdqu          xmm0, [rsi]
        pxor            xmm0, xmm8
        movdqu          xmm1, [rsi + 16]
        movdqu          xmm2, [rsi + 32]
        movdqu          xmm3, [rsi + 48]
        movdqu          xmm4, [rsi + 64]
        movdqu          xmm5, [rsi + 80]
        movdqu          xmm6, [rsi + 96]
        movdqu          xmm7, [rsi + 112]
        add             rsi, 128
        sub             rdx, 128
        movdqa          xmm15, [k_fold_1024]
        cmp             rdx, 128
        jb              .merge

align 16
.loop128:                                       ; 16 pclmulqdq per 128 bytes
        FOLD_IN         xmm0, xmm15, xmm8, xmm9, 0
        FOLD_IN         xmm1, xmm15, xmm8, xmm9, 16
        FOLD_IN         xmm2, xmm15, xmm8, xmm9, 32
        FOLD_IN         xmm3, xmm15, xmm8, xmm9, 48
        FOLD_IN         xmm4, xmm15, xmm8, xmm9, 64
        FOLD_IN         xmm5, xmm15, xmm8, xmm9, 80
        FOLD_IN         xmm6, xmm15, xmm8, xmm9, 96
        FOLD_IN         xmm7, xmm15, xmm8, xmm9, 112
        add             rsi, 128
        sub             rdx, 128
        cmp             rdx, 128
        jae             .loop128

.merge:                                         ; x7 ^= fold(x_i, (7 - i) * 128 bits)
        movdqa          xmm15, [k_fold_896]
        FOLD            xmm0, xmm15, xmm8
        movdqa          xmm15, [k_fold_768]
        FOLD            xmm1, xmm15, xmm8
        movdqa          xmm15, [k_fold_640]
        FOLD            xmm2, xmm15, xmm8
        movdqa          xmm15, [k_fold_512]
        FOLD            xmm3, xmm15, xmm8
        movdqa          xmm15, [k_fold_384]
        FOLD            xmm4, xmm15, xmm8
        movdqa          xmm15, [k_fold_256]
        FOLD            xmm5, xmm15, xmm8
        movdqa          xmm15, [k_fold_128]
        FOLD            xmm6, xmm15, xmm8
        pxor            xmm0, xmm1
        pxor            xmm2, xmm3
        pxor            xmm4, xmm5
        pxor            xmm6, xmm7
        pxor            xmm0, xmm2
        pxor            xmm4, xmm6
        pxor            xmm0, xmm4              ; x0 = all lanes folded (k_fold_128 in xmm15)

        cmp             rdx, 16
        jb              .finish
.loop16:
        FOLD_IN         xmm0, xmm15, xmm8, xmm9, 0
        add             rsi, 16
        sub             rdx, 16
        cmp             rdx, 16
        jae             .loop16

.finish:                                        ; CRC of the 16 folded bytes from 0
        movq            r8, xmm0
        pextrq          r9, xmm0, 1
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
