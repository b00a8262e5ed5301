package cost

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	pricingtypes "github.com/aws/aws-sdk-go-v2/service/pricing/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/llmeter-go/llmeter/internal/awsep"
)

// PricingRegion is where the AWS Price List API is called (it answers for
// every region).
const PricingRegion = "us-east-1"

// hoursPerMonth converts the Price List's GB-month storage price to
// GB-hours, as LLMeter does (30 days × 24 hours).
const hoursPerMonth = 30 * 24

// PriceList looks up on-demand USD list prices of SageMaker hosting in the
// AWS Price List API (GetProducts). Its zero value uses the standard
// credential chain; prices are cached.
type PriceList struct {
	// AWS configures the Price List client (Region is ignored: the API is
	// called in us-east-1). EndpointURL points it elsewhere (tests).
	AWS awsep.Config
	// DefaultRegion is the endpoint region used when a dimension has none;
	// empty uses the standard chain ($AWS_REGION, the profile).
	DefaultRegion string

	mu    sync.Mutex
	cache map[string]float64
}

var defaultPriceList = &PriceList{}

func (p *PriceList) orDefault() *PriceList {
	if p == nil {
		return defaultPriceList
	}
	return p
}

// HostingPrice returns the on-demand price per hour of a SageMaker hosting
// instance type in region.
func (p *PriceList) HostingPrice(ctx context.Context, instanceType, region string) (float64, error) {
	return p.unitPrice(ctx, region, "Hrs", map[string]string{"component": "Hosting", "instanceName": instanceType})
}

// StoragePrice returns the on-demand price per GB-hour of SageMaker hosting
// storage (General Purpose) in region: the Price List's GB-month price / 720.
func (p *PriceList) StoragePrice(ctx context.Context, region string) (float64, error) {
	v, err := p.unitPrice(ctx, region, "GB-Mo", map[string]string{"volumeType": "General Purpose-Hosting"})
	return v / hoursPerMonth, err
}

func (p *PriceList) region(ctx context.Context, region string) (string, error) {
	if region != "" {
		return region, nil
	}
	if p.DefaultRegion != "" {
		return p.DefaultRegion, nil
	}
	cfg := p.AWS
	cfg.Region = ""
	ac, err := awsep.Load(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("cost: price lookup: %w", err)
	}
	return ac.Region, nil
}

// unitPrice is LLMeter's _fetch_single_product_ondemand_unit_price: the
// filters must match exactly one product, with exactly one OnDemand term,
// with exactly one price dimension in unit (case-insensitive), priced in
// USD.
func (p *PriceList) unitPrice(ctx context.Context, region, unit string, attrs map[string]string) (float64, error) {
	region, err := p.region(ctx, region)
	if err != nil {
		return 0, err
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var filters []pricingtypes.Filter
	cacheKey := region + "|" + unit
	for _, k := range keys {
		filters = append(filters, pricingtypes.Filter{Field: aws.String(k), Type: pricingtypes.FilterTypeTermMatch, Value: aws.String(attrs[k])})
		cacheKey += "|" + k + "=" + attrs[k]
	}
	filters = append(filters, pricingtypes.Filter{Field: aws.String("regionCode"), Type: pricingtypes.FilterTypeTermMatch, Value: aws.String(region)})

	p.mu.Lock()
	v, ok := p.cache[cacheKey]
	p.mu.Unlock()
	if ok {
		return v, nil
	}

	cfg := p.AWS
	cfg.Region = PricingRegion
	ac, err := awsep.Load(ctx, cfg)
	if err != nil {
		return 0, fmt.Errorf("cost: price lookup: %w", err)
	}
	client := pricing.NewFromConfig(ac)
	var products []string
	pages := pricing.NewGetProductsPaginator(client, &pricing.GetProductsInput{
		ServiceCode: aws.String("AmazonSageMaker"),
		Filters:     filters,
	})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("cost: price lookup: %w", err)
		}
		products = append(products, out.PriceList...)
	}
	v, err = parseOnDemandPrice(products, unit, "USD")
	if err != nil {
		return 0, fmt.Errorf("cost: price lookup (%s): %w", describeFilters(attrs, region), err)
	}
	p.mu.Lock()
	if p.cache == nil {
		p.cache = map[string]float64{}
	}
	p.cache[cacheKey] = v
	p.mu.Unlock()
	return v, nil
}

func describeFilters(attrs map[string]string, region string) string {
	var parts []string
	for k, v := range attrs {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(append(parts, "regionCode="+region), ", ")
}

type priceListProduct struct {
	Product struct {
		SKU        string            `json:"sku"`
		Attributes map[string]string `json:"attributes"`
	} `json:"product"`
	Terms map[string]map[string]struct {
		PriceDimensions map[string]struct {
			Unit         string            `json:"unit"`
			PricePerUnit map[string]string `json:"pricePerUnit"`
		} `json:"priceDimensions"`
	} `json:"terms"`
}

func parseOnDemandPrice(products []string, unit, currency string) (float64, error) {
	if len(products) != 1 {
		return 0, fmt.Errorf("expected 1 matching product, got %d", len(products))
	}
	var prod priceListProduct
	if err := json.Unmarshal([]byte(products[0]), &prod); err != nil {
		return 0, fmt.Errorf("decode product: %w", err)
	}
	od, ok := prod.Terms["OnDemand"]
	if !ok {
		return 0, fmt.Errorf("product %s has no OnDemand term", prod.Product.SKU)
	}
	if len(od) != 1 {
		return 0, fmt.Errorf("product %s: expected exactly 1 OnDemand term, got %d", prod.Product.SKU, len(od))
	}
	var found []map[string]string
	for _, term := range od {
		for _, dim := range term.PriceDimensions {
			if strings.EqualFold(dim.Unit, unit) {
				found = append(found, dim.PricePerUnit)
			}
		}
	}
	if len(found) != 1 {
		return 0, fmt.Errorf("product %s: expected exactly 1 price dimension with unit %q, got %d", prod.Product.SKU, unit, len(found))
	}
	s, ok := found[0][currency]
	if !ok {
		return 0, fmt.Errorf("product %s: no %s price", prod.Product.SKU, currency)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("product %s: price %q: %w", prod.Product.SKU, s, err)
	}
	return v, nil
}

// SageMakerOptions configures SageMakerEndpoint.
type SageMakerOptions struct {
	// Region of the endpoint; empty uses the standard chain.
	Region string
	// AWS configures the SageMaker client (EndpointURL, Credentials, …);
	// its Region is replaced by Region.
	AWS awsep.Config
	// Pricing looks the prices up; nil uses the Price List API with AWS's
	// credentials.
	Pricing *PriceList
	// MergeStorage reports the storage of all variants as one dimension.
	MergeStorage bool
}

// SageMakerEndpoint builds a cost model for a SageMaker real-time endpoint,
// as LLMeter's cost_model_from_sagemaker_realtime_endpoint does: one
// SageMakerRTEndpointCompute run dimension per production variant (the
// variant's instance type and current instance count; named
// "SageMakerRTEndpointCompute" for a single variant, else
// "<Variant>_SageMakerRTEndpointCompute"), and likewise a
// SageMakerRTEndpointStorage dimension for the variants with EBS volumes
// (VolumeSizeInGB × instances). Prices are looked up now.
//
// It needs the IAM permissions sagemaker:DescribeEndpoint,
// sagemaker:DescribeEndpointConfig and pricing:GetProducts.
func SageMakerEndpoint(ctx context.Context, endpointName string, o SageMakerOptions) (*CostModel, error) {
	cfg := o.AWS
	cfg.Region = o.Region
	ac, err := awsep.Load(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cost: sagemaker endpoint %s: %w", endpointName, err)
	}
	region := ac.Region
	pl := o.Pricing
	if pl == nil {
		pl = &PriceList{AWS: o.AWS}
	}
	sm := sagemaker.NewFromConfig(ac)
	ep, err := sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(endpointName)})
	if err != nil {
		return nil, fmt.Errorf("cost: describe endpoint %s: %w", endpointName, err)
	}
	epc, err := sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: ep.EndpointConfigName})
	if err != nil {
		return nil, fmt.Errorf("cost: describe endpoint config %s: %w", aws.ToString(ep.EndpointConfigName), err)
	}
	type variant struct {
		name         string
		count        float64
		instanceType string
		volumeGB     float64
	}
	configs := map[string]int{}
	for i, v := range epc.ProductionVariants {
		configs[aws.ToString(v.VariantName)] = i
	}
	var variants []variant
	for _, v := range ep.ProductionVariants {
		name := aws.ToString(v.VariantName)
		i, ok := configs[name]
		if !ok {
			return nil, fmt.Errorf("cost: endpoint %s: variant %s is not in endpoint config %s", endpointName, name, aws.ToString(ep.EndpointConfigName))
		}
		c := epc.ProductionVariants[i]
		variants = append(variants, variant{
			name:         name,
			count:        float64(aws.ToInt32(v.CurrentInstanceCount)),
			instanceType: string(c.InstanceType),
			volumeGB:     float64(aws.ToInt32(c.VolumeSizeInGB)),
		})
	}
	if len(variants) == 0 {
		return nil, fmt.Errorf("cost: endpoint %s has no production variant", endpointName)
	}
	m := &CostModel{RequestDims: map[string]RequestDimension{}, RunDims: map[string]RunDimension{}}
	single := len(variants) == 1
	dimName := func(v variant, typ string) string {
		if single {
			return typ
		}
		return v.name + "_" + typ
	}
	totalGB := 0.0
	for _, v := range variants {
		d := &SageMakerRTEndpointCompute{InstanceType: v.instanceType, InstanceCount: v.count, Region: aws.String(region), Pricing: pl}
		if err := d.BeforeRunStart(ctx, nil); err != nil {
			return nil, err
		}
		m.RunDims[dimName(v, d.Type())] = d
		totalGB += v.volumeGB * v.count
	}
	switch {
	case totalGB == 0:
		// Instances with local storage only: no storage dimension.
	case single || o.MergeStorage:
		d := &SageMakerRTEndpointStorage{GBsProvisioned: totalGB, Region: aws.String(region), Pricing: pl}
		if err := d.BeforeRunStart(ctx, nil); err != nil {
			return nil, err
		}
		m.RunDims[d.Type()] = d
	default:
		for _, v := range variants {
			if v.volumeGB == 0 {
				continue
			}
			d := &SageMakerRTEndpointStorage{GBsProvisioned: v.volumeGB * v.count, Region: aws.String(region), Pricing: pl}
			if err := d.BeforeRunStart(ctx, nil); err != nil {
				return nil, err
			}
			m.RunDims[dimName(v, d.Type())] = d
		}
	}
	return m, nil
}
