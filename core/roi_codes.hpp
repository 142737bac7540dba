#pragma once
// Integer codes stored in rois.h5, with their labels (written beside them, so a file read
// without apical still says what each code means).
namespace apical {

// Why a candidate ROI was not accepted (stored as /plane{k}/rejection in rois.h5).
enum RoiRejection : int { kAccepted = 0, kLowTemplateScore = 1, kImplausibleShape = 2, kWithinNoise = 3 };
inline constexpr const char* kRejectionLabels =
    "0=accepted;1=soma template score below threshold;2=implausible soma size or shape;"
    "3=mean-image contrast within the noise";

// Where a soma ROI came from (stored as /plane{k}/source).
enum RoiSource : int { kFromActivity = 0, kFromAnatomy = 1, kFromBrightBlob = 2 };
inline constexpr const char* kSourceLabels =
    "0=correlation image (activity);1=mean image (soma template);2=mean image (bright blob)";

}  // namespace apical
