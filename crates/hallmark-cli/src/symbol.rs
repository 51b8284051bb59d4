//! Label symbols (QR, Data Matrix) rendered as SVG or PNG. (Being written.)
